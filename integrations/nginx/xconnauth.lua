-- xconnauth.lua: verify Keycloak bearer tokens in nginx / OpenResty (access_by_lua*),
-- on LuaJIT FFI over libxconnauth. SPDX-License-Identifier: MIT OR Apache-2.0
--
-- Usage (docs/integrations/nginx.md has the full, tested nginx.conf):
--
--   init_by_lua_block {                  -- master: checks the config (nginx -t fails on a typo)
--       local xconnauth = require "xconnauth"
--       xconnauth.configure {            -- profile "default"
--           lib = "/usr/local/lib/libxconnauth.so.0",
--           issuers = { "https://sso.example.com/realms/demo" },
--           audiences = { "orders-api" },
--           required_scopes = { "orders:read" },
--       }
--   }
--   init_worker_by_lua_block { require("xconnauth").init_worker() }
--   location /orders/ {
--       access_by_lua_block { require("xconnauth").protect() }
--       proxy_pass http://127.0.0.1:9000;
--   }
--
-- Each worker owns one verifier per profile, built from the profile's policy (the
-- policy options of docs/contract.md, same names) and engine options. The engine runs
-- in non-blocking mode: key fetches happen on the library's own thread, and a request
-- whose key is not known yet gets its answer at once (401 unknown_kid, or 503 while an
-- issuer has no keys at all) instead of stalling the worker's event loop.

local ffi = require "ffi"
local cjson = require "cjson.safe"

local ngx = ngx
local type, pairs, ipairs, tostring, tonumber, error, next = type, pairs, ipairs, tostring, tonumber, error, next
local concat, sort = table.concat, table.sort
local byte, find, format, gsub, lower, sub = string.byte, string.find, string.format, string.gsub, string.lower,
    string.sub
local floor, ceil = math.floor, math.ceil

local _M = { _VERSION = "0.1.0" }

-- The declarations of include/xconnauth.h this module calls. `const uint8_t *`
-- inputs are declared `const char *` (the same ABI) so Lua strings pass without a copy.
local CDEF = [[
typedef struct xca_verifier xca_verifier;
typedef uint32_t xca_status;
const char *xca_version(void);
const char *xca_status_name(xca_status status);
uint16_t xca_http_status(xca_status status);
xca_status xca_verifier_new_remote(const char *policy_json, size_t policy_len,
                                   const char *options_json, size_t options_len,
                                   xca_verifier **out);
xca_status xca_verify(const xca_verifier *v, const char *token, size_t token_len,
                      int64_t now, uint8_t *claims_out, size_t claims_cap, size_t *claims_len);
xca_status xca_verify_header(const xca_verifier *v, const char *authorization,
                             size_t authorization_len, int64_t now, uint8_t *claims_out,
                             size_t claims_cap, size_t *claims_len);
xca_status xca_verifier_status_json(const xca_verifier *v, char *buf, size_t cap, size_t *len);
void xca_verifier_free(xca_verifier *v);
xca_status xca_last_error_message(char *buf, size_t cap, size_t *len);
xca_status xca_www_authenticate(xca_status status, const char *realm, char *out, size_t cap,
                                size_t *len);
xca_status xca_problem_json(xca_status status, const char *type_uri, const char *instance,
                            char *out, size_t cap, size_t *len);
]]
-- A second copy of this module in the same VM (package.loaded cleared) would redefine
-- the same declarations: LuaJIT refuses that, and the first set is the same text.
pcall(ffi.cdef, CDEF)

-- Status codes used here (fixed in include/xconnauth.h, never reused).
local XCA_OK = 0
local XCA_MALFORMED = 1
local XCA_KEYS_UNAVAILABLE = 19
local XCA_BUFFER_TOO_SMALL = 101

-- Keys of a profile table that belong to this module; every other key is a policy
-- option and goes to the engine, which refuses unknown names (fail closed at startup).
local MODULE_KEYS = {
    lib = true,                 -- path or name of libxconnauth for ffi.load
    engine = true,              -- engine options (remote/src/options.rs names)
    realm = true,               -- realm="..." in WWW-Authenticate
    problem_type = true,        -- ProblemDetails `type` URI (default about:blank)
    claim_headers = true,       -- header name -> claim path, passed upstream
    header_prefix = true,       -- incoming headers with this prefix are always removed
    strip_authorization = true, -- remove the caller's Authorization before proxying
    optional = true,            -- no Authorization at all: pass, anonymous
    claims_buffer = true,       -- initial claims buffer size (bytes)
}
-- Policy options whose value is a JSON object (an empty Lua table must encode as {}).
local OBJECT_KEYS = { required_client_roles = true, jwks_uris = true }

local DEFAULT_CLAIM_HEADERS = {
    ["X-Auth-Sub"] = "sub",
    ["X-Auth-Client-Id"] = "azp",
    ["X-Auth-Scope"] = "scope",
    ["X-Auth-Roles"] = "realm_access.roles",
}

local lib            -- the ffi.load()ed library (one per Lua VM)
local lib_path       -- what it was loaded from
local profiles = {}  -- name -> { cfg = merged table, policy = json, engine = json, ... }
local verifiers = {} -- name -> cdata xca_verifier* (this worker's, with ffi.gc)

-- Per-worker scratch buffers (one request at a time runs Lua in a worker).
local len_out = ffi.new("size_t[1]")
local text_cap = 1024
local text_buf = ffi.new("char[?]", text_cap)

---------------------------------------------------------------------------------------
-- A small JSON encoder for the configuration. cjson cannot tell an empty array from an
-- empty object (Debian's lua-cjson has no empty_array), and policy lists may be empty.

local encode

local function encode_string(s)
    return '"' .. gsub(s, '[%c"\\]', function(c)
        if c == '"' then return '\\"' end
        if c == "\\" then return "\\\\" end
        return format("\\u%04x", byte(c))
    end) .. '"'
end

local function is_array(t)
    local n = 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
            return false
        end
        n = n + 1
    end
    return n == #t
end

encode = function(v, as_object, where)
    local tv = type(v)
    if tv == "string" then
        return encode_string(v)
    elseif tv == "number" then
        if v ~= v or v == math.huge or v == -math.huge then
            error(where .. ": not a finite number", 0)
        end
        if v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53 then
            return format("%d", v)
        end
        return format("%.17g", v)
    elseif tv == "boolean" then
        return tostring(v)
    elseif v == ngx.null then
        return "null"
    elseif tv == "table" then
        if not as_object and is_array(v) then
            local out = {}
            for i = 1, #v do
                out[i] = encode(v[i], false, where)
            end
            return "[" .. concat(out, ",") .. "]"
        end
        local keys = {}
        for k in pairs(v) do
            if type(k) ~= "string" then
                error(where .. ": a table mixes list items and named fields", 0)
            end
            keys[#keys + 1] = k
        end
        sort(keys) -- stable output, easier to read in logs
        local out = {}
        for i, k in ipairs(keys) do
            out[i] = encode_string(k) .. ":" .. encode(v[k], false, where .. "." .. k)
        end
        return "{" .. concat(out, ",") .. "}"
    end
    error(where .. ": a " .. tv .. " cannot be written as JSON", 0)
end

---------------------------------------------------------------------------------------

local function load_lib(path)
    if lib then
        if path and path ~= lib_path then
            error("xconnauth: lib = " .. path .. " but " .. lib_path .. " is already loaded", 0)
        end
        return lib
    end
    -- "xconnauth" lets the dynamic loader find libxconnauth.so (ldconfig, LD_LIBRARY_PATH).
    local ok, l = pcall(ffi.load, path or "xconnauth")
    if not ok then
        error("xconnauth: cannot load libxconnauth (" .. tostring(path or "xconnauth") .. "): " .. tostring(l), 0)
    end
    lib, lib_path = l, path or "xconnauth"
    return lib
end

-- Text output of a C helper: `call(buf, cap, len)` runs it on the scratch buffer
-- (NUL-terminated text, `len` without the NUL), grown once when it is too small.
local function c_text(call)
    local rc = call(text_buf, text_cap, len_out)
    if rc == XCA_BUFFER_TOO_SMALL then
        text_cap = tonumber(len_out[0]) + 1
        text_buf = ffi.new("char[?]", text_cap)
        rc = call(text_buf, text_cap, len_out)
    end
    if rc ~= XCA_OK then
        return nil, rc
    end
    return ffi.string(text_buf, len_out[0])
end

local function last_error()
    return c_text(lib.xca_last_error_message) or "?"
end

local function status_name(rc)
    return ffi.string(lib.xca_status_name(rc))
end

-- Builds one verifier for a profile; errors name the profile and the engine's reason.
local function new_verifier(name, p)
    local out = ffi.new("xca_verifier*[1]")
    local rc = lib.xca_verifier_new_remote(p.policy, #p.policy, p.engine, #p.engine, out)
    if rc ~= XCA_OK then
        local msg, code = last_error(), status_name(rc)
        if sub(msg, 1, #code) ~= code then
            msg = code .. ": " .. msg
        end
        error(format("xconnauth: profile %q: %s", name, msg), 0)
    end
    return ffi.gc(out[0], lib.xca_verifier_free)
end

local function check_path(name, header, path)
    if type(path) == "string" and path ~= "" then
        local parts = {}
        for part in path:gmatch("[^.]+") do
            parts[#parts + 1] = part
        end
        return parts
    elseif type(path) == "table" and #path > 0 then
        local ok = true
        for _, part in ipairs(path) do
            ok = ok and type(part) == "string"
        end
        if ok and is_array(path) then
            return path
        end
    end
    error(format("xconnauth: profile %q: claim_headers[%q] must be a claim name, a dotted path "
        .. "or a list of names", name, tostring(header)), 0)
end

--- Defines (or redefines) a profile: a policy, the engine options and how requests are
--- answered. `configure(cfg)` defines "default"; `configure(name, cfg, more, ...)`
--- merges the tables left to right (later keys win), so profiles can share a base.
--- In init_by_lua* it checks the configuration (a verifier is built and dropped; no
--- I/O), so a mistake stops nginx from starting; in init_worker_by_lua* it also builds
--- this worker's verifier.
function _M.configure(name, ...)
    local parts = { ... }
    if type(name) == "table" then
        parts = { name, ... }
        name = "default"
    end
    if type(name) ~= "string" or name == "" then
        error("xconnauth.configure: the profile name must be a non-empty string", 2)
    end
    local cfg = {}
    for i, t in ipairs(parts) do
        if type(t) ~= "table" then
            error(format("xconnauth.configure(%q): argument %d is not a table", name, i + 1), 2)
        end
        for k, v in pairs(t) do
            cfg[k] = v
        end
    end

    local policy, engine = {}, {}
    for k, v in pairs(cfg) do
        if type(k) ~= "string" then
            error(format("xconnauth.configure(%q): option names must be strings", name), 2)
        end
        if not MODULE_KEYS[k] then
            policy[k] = v
        end
    end
    if type(cfg.engine or {}) ~= "table" then
        error(format("xconnauth.configure(%q): engine must be a table", name), 2)
    end
    for k, v in pairs(cfg.engine or {}) do
        engine[k] = v
    end
    -- The point of this module: a worker's event loop never waits for a key fetch.
    if engine.non_blocking == false then
        error(format("xconnauth.configure(%q): engine.non_blocking = false would let a key "
            .. "fetch stall the worker's event loop", name), 2)
    end
    engine.non_blocking = true

    local p = { name = name, cfg = cfg }
    local ok, err = pcall(function()
        local fields = {}
        for k, v in pairs(policy) do
            fields[#fields + 1] = encode_string(k) .. ":" .. encode(v, OBJECT_KEYS[k], k)
        end
        sort(fields)
        p.policy = "{" .. concat(fields, ",") .. "}"
        fields = {}
        for k, v in pairs(engine) do
            fields[#fields + 1] = encode_string(k) .. ":" .. encode(v, OBJECT_KEYS[k], "engine." .. k)
        end
        sort(fields)
        p.engine = "{" .. concat(fields, ",") .. "}"
    end)
    if not ok then
        error(format("xconnauth.configure(%q): %s", name, err), 2)
    end

    for _, k in ipairs({ "realm", "problem_type", "header_prefix" }) do
        if cfg[k] ~= nil and (type(cfg[k]) ~= "string" or find(cfg[k], "%z")) then
            error(format("xconnauth.configure(%q): %s must be a string", name, k), 2)
        end
    end
    p.realm = cfg.realm
    p.problem_type = cfg.problem_type
    p.prefix = lower(gsub(cfg.header_prefix or "X-Auth-", "_", "-"))
    p.strip_authorization = cfg.strip_authorization == true
    p.optional = cfg.optional == true
    p.claims_cap = tonumber(cfg.claims_buffer) or tonumber(policy.max_token_bytes) or 16384
    if p.claims_cap < 1 then
        error(format("xconnauth.configure(%q): claims_buffer must be positive", name), 2)
    end
    p.claims_cap = floor(p.claims_cap)
    local cooldown = tonumber(engine.refresh_cooldown) or 10
    p.retry_after = tostring(ceil(cooldown > 1 and cooldown or 1))

    -- Headers always removed from the request: the prefix, and every name we set.
    local headers = cfg.claim_headers
    if headers == nil then
        headers = DEFAULT_CLAIM_HEADERS
    elseif type(headers) ~= "table" then
        error(format("xconnauth.configure(%q): claim_headers must be a table", name), 2)
    end
    p.headers = {}
    p.owned = {}
    for header, path in pairs(headers) do
        if type(header) ~= "string" or not header:match("^[%w!#$%%&'*+.^_`|~-]+$") then
            error(format("xconnauth.configure(%q): %q is not a header name", name, tostring(header)), 2)
        end
        local ok2, parts_or_err = pcall(check_path, name, header, path)
        if not ok2 then
            error(parts_or_err, 2)
        end
        p.headers[#p.headers + 1] = { name = header, path = parts_or_err }
        p.owned[lower(gsub(header, "_", "-"))] = true
    end
    sort(p.headers, function(a, b) return a.name < b.name end)

    load_lib(cfg.lib)
    local phase = ngx.get_phase()
    local v = new_verifier(name, p) -- checks policy and options now, in every phase
    profiles[name] = p
    if phase == "init_worker" then
        verifiers[name] = v
        lib.xca_verify(v, "x", 1, -1, nil, 0, nil) -- starts the first fetch (see init_worker)
    else
        -- Built only to check the configuration: the master does not verify.
        lib.xca_verifier_free(ffi.gc(v, nil))
    end
    return true
end

--- Builds this worker's verifier for every configured profile and starts their first
--- key fetch at once, so the first requests do not all find the keys missing. Call it
--- from init_worker_by_lua*. Never waits: the fetch runs on the library's thread.
function _M.init_worker()
    if not lib then
        error("xconnauth.init_worker: no profile configured (call xconnauth.configure in init_by_lua*)", 2)
    end
    for name, p in pairs(profiles) do
        if not verifiers[name] then
            local v = new_verifier(name, p)
            verifiers[name] = v
            -- The first xca_verify() on a remote verifier starts its engine; in
            -- non-blocking mode it returns at once (keys_unavailable), the fetch goes on.
            lib.xca_verify(v, "x", 1, -1, nil, 0, nil)
        end
    end
    return true
end

--- The state of a profile's keys in this worker, as the engine's JSON
--- (`xca_verifier_status_json`: last success/error, fetch count, key ids), or nil and
--- an error.
function _M.status(name)
    name = name or "default"
    local v = verifiers[name]
    if not v then
        return nil, "no verifier for profile " .. name .. " in this worker"
    end
    return c_text(function(buf, cap, len)
        return lib.xca_verifier_status_json(v, buf, cap, len)
    end)
end

--- The library version (xca_version()).
function _M.lib_version()
    return lib and ffi.string(lib.xca_version()) or nil
end

---------------------------------------------------------------------------------------
-- Request handling

local function respond(p, rc, no_token)
    local code = tonumber(lib.xca_http_status(rc))
    local body, challenge
    if code == 401 or code == 403 or code == 503 then
        body = c_text(function(buf, cap, len)
            return lib.xca_problem_json(rc, p.problem_type, nil, buf, cap, len)
        end)
        -- No credentials at all: RFC 6750 §3.1 says the challenge names no error. The
        -- 503 challenge is that bare one (`Bearer realm="..."`), quoted by the library.
        local shown = no_token and XCA_KEYS_UNAVAILABLE or rc
        challenge = c_text(function(buf, cap, len)
            return lib.xca_www_authenticate(shown, p.realm, buf, cap, len)
        end)
    end
    if not body or not challenge then
        -- API misuse or a library bug: not the client's fault, and never a pass.
        code = 500
        body = '{"type":"about:blank","title":"Internal Server Error","status":500}'
        challenge = nil
    end
    ngx.status = code
    if challenge then
        ngx.header["WWW-Authenticate"] = challenge
    end
    if code == 503 then
        ngx.header["Retry-After"] = p.retry_after
    end
    ngx.header["Content-Type"] = "application/problem+json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- A header value we are willing to send upstream: no control characters (CR/LF would
-- split headers in some upstream parsers), and list items without the separator.
local function safe(s)
    return not find(s, "[%c]")
end

local function claim_value(claims, path)
    local v = claims
    for i = 1, #path do
        if type(v) ~= "table" then
            return nil
        end
        v = v[path[i]]
    end
    local tv = type(v)
    if tv == "string" then
        return safe(v) and v or false
    elseif tv == "number" then
        if v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53 then
            return format("%d", v)
        end
        return format("%.17g", v)
    elseif tv == "boolean" then
        return tostring(v)
    elseif tv == "table" then
        if next(v) == nil then
            return ""
        end
        if is_array(v) then
            -- A list of strings (roles): comma-separated. An item that holds a comma
            -- would read as two items upstream, so such a list is not sent at all.
            local out = {}
            for i = 1, #v do
                local item = v[i]
                if type(item) ~= "string" or not safe(item) or find(item, ",", 1, true) then
                    return false
                end
                out[i] = item
            end
            return concat(out, ",")
        end
        local json = cjson.encode(v)
        return json and safe(json) and json or false
    end
    return nil -- absent or null: no header
end

-- Removes every header the caller may not send: names with our prefix and every name
-- we set. Compared with `_` read as `-`, since CGI-style upstreams (PHP, WSGI) map
-- both X-Auth-Sub and X_Auth_Sub to HTTP_X_AUTH_SUB.
local function clear_owned(p, headers)
    local prefix, plen = p.prefix, #p.prefix
    for name in pairs(headers) do
        local norm = gsub(lower(name), "_", "-")
        if sub(norm, 1, plen) == prefix or p.owned[norm] then
            ngx.req.clear_header(name)
        end
    end
end

--- Guards the request (call it from access_by_lua*): verifies `Authorization: Bearer`
--- against the profile (default "default"); on success passes the chosen claims
--- upstream as headers and stores the claims in `ngx.ctx.xconnauth_claims`; on failure
--- answers 401/403/503 with the ProblemDetails body and `WWW-Authenticate`.
--- `opts` may override, for this location only: strip_authorization, optional.
function _M.protect(name, opts)
    if type(name) == "table" then
        opts, name = name, nil
    end
    name = name or "default"
    local p = profiles[name]
    local v = verifiers[name]
    if not p or not v then
        ngx.log(ngx.ERR, "xconnauth: profile \"", name, "\" has no verifier in this worker ",
            "(configure it in init_by_lua* and call xconnauth.init_worker() in init_worker_by_lua*)")
        ngx.status = 500
        ngx.header["Content-Type"] = "application/problem+json"
        ngx.print('{"type":"about:blank","title":"Internal Server Error","status":500}')
        return ngx.exit(ngx.HTTP_OK)
    end
    local strip, optional = p.strip_authorization, p.optional
    if opts then
        if opts.strip_authorization ~= nil then
            strip = opts.strip_authorization == true
        end
        if opts.optional ~= nil then
            optional = opts.optional == true
        end
    end

    local headers = ngx.req.get_headers(0)
    clear_owned(p, headers)
    ngx.ctx.xconnauth_claims = nil

    local auth = headers["authorization"]
    if auth == nil then
        if optional then
            return
        end
        return respond(p, XCA_MALFORMED, true)
    end
    if type(auth) ~= "string" then
        -- Several Authorization headers: which one the upstream would read is anyone's
        -- guess, so none is accepted.
        ngx.log(ngx.INFO, "xconnauth: rejected: malformed: several Authorization headers")
        return respond(p, XCA_MALFORMED, false)
    end

    local cap = p.claims_cap
    local buf = p.buf
    if not buf then
        buf = ffi.new("uint8_t[?]", cap)
        p.buf = buf
    end
    local rc = lib.xca_verify_header(v, auth, #auth, -1, buf, cap, len_out)
    if rc == XCA_BUFFER_TOO_SMALL then
        -- Valid, with claims larger than the buffer: grow it to the size asked for and
        -- keep it, then verify once more.
        cap = tonumber(len_out[0])
        buf = ffi.new("uint8_t[?]", cap)
        p.buf, p.claims_cap = buf, cap
        rc = lib.xca_verify_header(v, auth, #auth, -1, buf, cap, len_out)
    end
    if rc ~= XCA_OK then
        ngx.log(ngx.INFO, "xconnauth: rejected (", name, "): ", last_error())
        return respond(p, rc, false)
    end

    local claims = cjson.decode(ffi.string(buf, len_out[0]))
    if type(claims) ~= "table" then
        ngx.log(ngx.ERR, "xconnauth: verified claims could not be decoded by cjson")
        return respond(p, 0, false)
    end
    ngx.ctx.xconnauth_claims = claims
    for _, h in ipairs(p.headers) do
        local value = claim_value(claims, h.path)
        if value then
            ngx.req.set_header(h.name, value)
        elseif value == false then
            ngx.log(ngx.WARN, "xconnauth: claim for ", h.name,
                " holds a control character or a comma in a list item: header not sent")
        end
    end
    if strip then
        ngx.req.clear_header("Authorization")
    end
end

return _M
