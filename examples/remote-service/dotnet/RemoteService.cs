// A remote service that validates Keycloak bearer tokens itself, through libxconnauth
// (examples/dotnet/XConnAuth.cs), and answers GET /api/data only to tokens with the right
// issuer, audience and scope.
//
// Keys come from the realm: OIDC discovery gives jwks_uri; the JWKS is refetched every
// --refresh seconds, and at once when a token names an unknown key (at most once per
// --cooldown seconds, so forged kids cannot make us hammer the realm). A failed fetch keeps
// the last good keys. Until the first fetch succeeds every request gets 503.
//
// Builds with Mono's mcs (C# 6, System.dll only) and with the .NET 8 SDK; on .NET the
// JWKS is fetched with HttpClient, on Mono/.NET Framework with WebClient.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace XConnAuth.RemoteService
{
    internal sealed class Options
    {
        public string Issuer;
        public readonly List<string> Audiences = new List<string>();
        public readonly List<string> Scopes = new List<string>();
        public string PolicyFile;
        public string JwksUrl;
        public string Bind = "127.0.0.1";
        public int Port = 8080;
        public string Realm = "remote-service";
        public string ProblemType; // null: about:blank
        public int RefreshSeconds = 300;
        public int CooldownSeconds = 30;
        public int FetchTimeoutMs = 5000;

        public const string Usage =
            "usage: RemoteService.exe --issuer URL [--audience A]... [--scope S]... [--policy FILE]\n" +
            "         [--jwks-url URL] [--bind ADDR] [--port N] [--realm R] [--problem-type URI]\n" +
            "         [--refresh SECONDS] [--cooldown SECONDS] [--fetch-timeout-ms N]\n" +
            "  --policy FILE: the xconnauth policy JSON; --audience/--scope then must not be given.\n" +
            "  --jwks-url skips discovery. --port 0 picks a free port; the first line on stdout is\n" +
            "  \"listening on http://ADDR:PORT/\".";

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                if (i + 1 >= args.Length)
                    throw new ArgumentException("missing value for " + args[i]);
                string v = args[++i];
                switch (args[i - 1])
                {
                    case "--issuer": o.Issuer = v; break;
                    case "--audience": o.Audiences.Add(v); break;
                    case "--scope": o.Scopes.Add(v); break;
                    case "--policy": o.PolicyFile = v; break;
                    case "--jwks-url": o.JwksUrl = v; break;
                    case "--bind": o.Bind = v; break;
                    case "--port": o.Port = Int(v, 0, 65535); break;
                    case "--realm": o.Realm = v; break;
                    case "--problem-type": o.ProblemType = v; break;
                    case "--refresh": o.RefreshSeconds = Int(v, 1, 86400); break;
                    case "--cooldown": o.CooldownSeconds = Int(v, 0, 86400); break;
                    case "--fetch-timeout-ms": o.FetchTimeoutMs = Int(v, 100, 600000); break;
                    default: throw new ArgumentException("unknown option " + args[i - 1]);
                }
            }
            if (string.IsNullOrEmpty(o.Issuer))
                throw new ArgumentException("--issuer is required (discovery and the iss check use it)");
            if (o.PolicyFile != null && (o.Audiences.Count > 0 || o.Scopes.Count > 0))
                throw new ArgumentException("give --policy or --audience/--scope, not both");
            // The realm goes into a quoted-string of our own challenge; keep it trivially safe.
            foreach (char c in o.Realm)
                if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
                    throw new ArgumentException("--realm must be printable ASCII without quotes or backslashes");
            return o;
        }

        private static int Int(string s, int lo, int hi)
        {
            int v;
            if (!int.TryParse(s, out v) || v < lo || v > hi)
                throw new ArgumentException(string.Format("{0} is not a number in {1}..{2}", s, lo, hi));
            return v;
        }

        /// <summary>The policy JSON for the verifier (DESIGN §4 names).</summary>
        public string PolicyJson()
        {
            if (PolicyFile != null)
                return File.ReadAllText(PolicyFile, Encoding.UTF8);
            var sb = new StringBuilder("{\"issuers\":[").Append(Json.Quote(Issuer)).Append(']');
            if (Audiences.Count > 0)
                sb.Append(",\"audiences\":").Append(Json.Array(Audiences));
            if (Scopes.Count > 0)
                sb.Append(",\"required_scopes\":").Append(Json.Array(Scopes));
            return sb.Append('}').ToString();
        }
    }

    /// <summary>
    /// Owns the verifier and keeps its keys fresh: periodic refresh, refresh on unknown kid
    /// with a cooldown, last-known-good keys when the realm cannot be reached.
    /// </summary>
    internal sealed class KeyManager : IDisposable
    {
        private const int MaxDocumentBytes = 1 << 20;

        private readonly Options _options;
        private readonly string _policy;
        private readonly object _fetchLock = new object();
        private volatile Verifier _verifier;
        private string _jwksUri;
        private DateTime _lastAttempt = DateTime.MinValue;
        private Timer _timer;
        private int _fetches;
        private bool _starting;

        public KeyManager(Options options)
        {
            _options = options;
            _policy = options.PolicyJson();
            _jwksUri = options.JwksUrl;
        }

        /// <summary>How many JWKS fetches were attempted (for logs).</summary>
        public int Fetches { get { return _fetches; } }

        public bool Ready { get { return _verifier != null; } }

        /// <summary>First load: a policy or JWKS the library rejects is fatal here (an
        /// operator error), while an unreachable realm is not (503 until it answers).</summary>
        public void Start()
        {
            _starting = true;
            try
            {
                Refresh(true);
            }
            finally
            {
                _starting = false;
            }
            long period = _options.RefreshSeconds * 1000L;
            _timer = new Timer(_ => Refresh(true), null, period, period);
        }

        /// <summary>Verifies an Authorization value; a kid we do not know triggers one refetch.</summary>
        public string VerifyHeader(string authorization)
        {
            var v = _verifier;
            try
            {
                return v.VerifyHeader(authorization);
            }
            catch (InvalidTokenException e)
            {
                if (e.Status != Status.UnknownKid || !Refresh(false))
                    throw;
            }
            return _verifier.VerifyHeader(authorization);
        }

        /// <summary>
        /// Fetches the JWKS and swaps it in. Without <paramref name="scheduled"/> this is the
        /// unknown-kid path and honours the cooldown. Returns whether new keys were installed.
        /// </summary>
        public bool Refresh(bool scheduled)
        {
            lock (_fetchLock)
            {
                var now = DateTime.UtcNow;
                if (!scheduled && (now - _lastAttempt).TotalSeconds < _options.CooldownSeconds)
                    return false;
                _lastAttempt = now;
                Interlocked.Increment(ref _fetches);
                string jwks;
                try
                {
                    if (_jwksUri == null)
                        _jwksUri = Discover();
                    jwks = Http.Get(_jwksUri, _options.FetchTimeoutMs, MaxDocumentBytes);
                }
                catch (Exception e)
                {
                    Log.Line("JWKS fetch failed ({0}); {1}", e.Message,
                             _verifier == null ? "no keys yet, answering 503" : "keeping the last good keys");
                    return false;
                }
                try
                {
                    if (_verifier == null)
                        _verifier = new Verifier(jwks, _policy);
                    else
                        _verifier.SetJwks(jwks);
                }
                catch (ConfigurationException e)
                {
                    if (_starting)
                        throw;
                    Log.Line("JWKS rejected ({0}); keeping the last good keys", e.Message);
                    return false;
                }
                Log.Line("keys loaded from {0}", _jwksUri);
                return true;
            }
        }

        private string Discover()
        {
            string url = _options.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
            var doc = Json.Parse(Http.Get(url, _options.FetchTimeoutMs, MaxDocumentBytes)) as Dictionary<string, object>;
            if (doc == null)
                throw new InvalidDataException("the discovery document is not a JSON object");
            object issuer, jwksUri;
            doc.TryGetValue("issuer", out issuer);
            doc.TryGetValue("jwks_uri", out jwksUri);
            // OIDC Discovery §4.3: a document for another issuer must not be used.
            if (!(issuer is string) || (string)issuer != _options.Issuer)
                throw new InvalidDataException("discovery names another issuer");
            Uri u;
            if (!(jwksUri is string) || !Uri.TryCreate((string)jwksUri, UriKind.Absolute, out u) ||
                (u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp))
                throw new InvalidDataException("discovery has no usable jwks_uri");
            return (string)jwksUri;
        }

        public void Dispose()
        {
            if (_timer != null)
                _timer.Dispose();
            if (_verifier != null)
                _verifier.Dispose();
        }
    }

    internal static class Http
    {
        /// <summary>GET a small text document; throws on any failure, timeouts included.</summary>
        public static string Get(string url, int timeoutMs, int maxBytes)
        {
#if NETCOREAPP
            using (var client = new System.Net.Http.HttpClient())
            {
                client.Timeout = TimeSpan.FromMilliseconds(timeoutMs);
                client.MaxResponseContentBufferSize = maxBytes;
                return client.GetStringAsync(url).GetAwaiter().GetResult();
            }
#else
            using (var client = new TimeoutWebClient(timeoutMs))
            {
                byte[] data = client.DownloadData(url);
                if (data.Length > maxBytes)
                    throw new InvalidDataException("document larger than " + maxBytes + " bytes");
                return new UTF8Encoding(false, true).GetString(data);
            }
#endif
        }

#if !NETCOREAPP
        private sealed class TimeoutWebClient : WebClient
        {
            private readonly int _timeoutMs;

            public TimeoutWebClient(int timeoutMs)
            {
                _timeoutMs = timeoutMs;
            }

            protected override WebRequest GetWebRequest(Uri address)
            {
                var r = base.GetWebRequest(address);
                r.Timeout = _timeoutMs;
                var h = r as HttpWebRequest;
                if (h != null)
                {
                    h.ReadWriteTimeout = _timeoutMs;
                    // A redirect could lead the key fetch somewhere the operator never named.
                    h.AllowAutoRedirect = false;
                }
                return r;
            }
        }
#endif
    }

    internal static class Log
    {
        private static readonly object Gate = new object();

        public static void Line(string format, params object[] args)
        {
            lock (Gate)
                Console.Error.WriteLine("remote-service: " + string.Format(format, args));
        }
    }

    internal static class Program
    {
        private const string DataJson =
            "[{\"id\":1,\"name\":\"alpha\",\"value\":42},{\"id\":2,\"name\":\"beta\",\"value\":7}]";

        private static Options _options;
        private static KeyManager _keys;

        public static int Main(string[] args)
        {
            try
            {
                _options = Options.Parse(args);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                Console.Error.WriteLine(Options.Usage);
                return 2;
            }
            HttpListener listener;
            int port;
            try
            {
                _keys = new KeyManager(_options);
                _keys.Start();
                listener = Listen(_options.Bind, _options.Port, out port);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("remote-service: cannot start: " + e.Message);
                return e is XConnAuthException || e is IOException ? 2 : 1;
            }
            Console.Out.WriteLine("listening on http://{0}:{1}/", _options.Bind, port);
            Console.Out.Flush();
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = listener.GetContext();
                }
                catch (HttpListenerException)
                {
                    break;
                }
                ThreadPool.QueueUserWorkItem(Handle, ctx);
            }
            _keys.Dispose();
            return 0;
        }

        /// <summary>
        /// HttpListener cannot bind port 0, so a free port is found with a TcpListener
        /// first; another process may take it in between, hence the retries.
        /// </summary>
        private static HttpListener Listen(string bind, int port, out int chosen)
        {
            for (int attempt = 0; ; attempt++)
            {
                chosen = port;
                if (port == 0)
                {
                    var probe = new TcpListener(IPAddress.Parse(bind), 0);
                    probe.Start();
                    chosen = ((IPEndPoint)probe.LocalEndpoint).Port;
                    probe.Stop();
                }
                var listener = new HttpListener();
                listener.Prefixes.Add(string.Format("http://{0}:{1}/", bind, chosen));
                try
                {
                    listener.Start();
                    return listener;
                }
                catch (HttpListenerException)
                {
                    listener.Close();
                    if (port != 0 || attempt >= 5)
                        throw;
                }
            }
        }

        private static void Handle(object state)
        {
            var ctx = (HttpListenerContext)state;
            try
            {
                Route(ctx);
            }
            catch (Exception e)
            {
                Log.Line("request failed: {0}", e.GetType().Name);
                try
                {
                    Send(ctx, 500, "application/problem+json", Problem(500, "Internal Server Error", "internal error"));
                }
                catch (Exception)
                {
                    // The connection is gone; nothing left to tell.
                }
            }
        }

        private static void Route(HttpListenerContext ctx)
        {
            var req = ctx.Request;
            string path = req.Url.AbsolutePath;
            if (path == "/healthz")
            {
                Send(ctx, _keys.Ready ? 200 : 503, "application/json",
                     _keys.Ready ? "{\"status\":\"ok\"}" : "{\"status\":\"no keys\"}");
                return;
            }
            if (path != "/api/data")
            {
                Send(ctx, 404, "application/problem+json", Problem(404, "Not Found", "no such resource"));
                return;
            }
            if (req.HttpMethod != "GET")
            {
                ctx.Response.AddHeader("Allow", "GET");
                Send(ctx, 405, "application/problem+json", Problem(405, "Method Not Allowed", "only GET is allowed"));
                return;
            }
            if (!_keys.Ready)
            {
                ctx.Response.AddHeader("Retry-After", "5");
                Send(ctx, 503, "application/problem+json",
                     Problem(503, "Service Unavailable", "the token signing keys are not available yet"));
                return;
            }
            string[] values = req.Headers.GetValues("Authorization");
            if (values == null || values.Length == 0)
            {
                // RFC 6750 §3.1: no credentials, so a bare challenge without an error code.
                ctx.Response.AddHeader("WWW-Authenticate", "Bearer realm=\"" + _options.Realm + "\"");
                Send(ctx, 401, "application/problem+json",
                     Verifier.ProblemJson(Status.Malformed, _options.ProblemType, path));
                return;
            }
            string claims;
            try
            {
                // Several Authorization headers arrive joined with commas, which no token
                // contains, so the verifier rejects them as malformed.
                claims = _keys.VerifyHeader(string.Join(",", values));
            }
            catch (InvalidTokenException e)
            {
                ctx.Response.AddHeader("WWW-Authenticate", e.WwwAuthenticate(_options.Realm));
                Send(ctx, e.HttpStatus, "application/problem+json", e.ProblemJson(_options.ProblemType, path));
                Log.Line("GET /api/data -> {0} {1}", e.HttpStatus, e.Code);
                return;
            }
            // The claims are the verified payload JSON, embedded as is.
            Send(ctx, 200, "application/json", "{\"data\":" + DataJson + ",\"claims\":" + claims + "}");
            Log.Line("GET /api/data -> 200");
        }

        private static string Problem(int status, string title, string detail)
        {
            return "{\"type\":\"about:blank\",\"title\":" + Json.Quote(title) + ",\"status\":" + status +
                   ",\"detail\":" + Json.Quote(detail) + "}";
        }

        private static void Send(HttpListenerContext ctx, int status, string contentType, string body)
        {
            var res = ctx.Response;
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            res.StatusCode = status;
            res.ContentType = contentType;
            res.AddHeader("Cache-Control", "no-store");
            res.ContentLength64 = bytes.Length;
            res.OutputStream.Write(bytes, 0, bytes.Length);
            res.Close();
        }
    }

    /// <summary>
    /// Just enough JSON for the discovery document (System.Text.Json is not on Mono, and
    /// the service must not need more than System.dll). Strict: no trailing garbage, a
    /// depth limit, and only what RFC 8259 allows.
    /// </summary>
    internal static class Json
    {
        private const int MaxDepth = 64;

        public static string Quote(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in s)
            {
                if (c == '"' || c == '\\')
                    sb.Append('\\').Append(c);
                else if (c < 0x20)
                    sb.AppendFormat("\\u{0:x4}", (int)c);
                else
                    sb.Append(c);
            }
            return sb.Append('"').ToString();
        }

        public static string Array(IEnumerable<string> items)
        {
            var parts = new List<string>();
            foreach (var s in items)
                parts.Add(Quote(s));
            return "[" + string.Join(",", parts) + "]";
        }

        /// <summary>Objects become Dictionary&lt;string, object&gt;, arrays List&lt;object&gt;,
        /// numbers double, plus string, bool and null.</summary>
        public static object Parse(string text)
        {
            int i = 0;
            object v = Value(text, ref i, 0);
            Skip(text, ref i);
            if (i != text.Length)
                throw new InvalidDataException("trailing data after JSON");
            return v;
        }

        private static void Skip(string s, ref int i)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
                i++;
        }

        private static InvalidDataException Bad(int i)
        {
            return new InvalidDataException("invalid JSON at offset " + i);
        }

        private static object Value(string s, ref int i, int depth)
        {
            if (depth > MaxDepth)
                throw new InvalidDataException("JSON nested too deeply");
            Skip(s, ref i);
            if (i >= s.Length)
                throw Bad(i);
            char c = s[i];
            if (c == '{')
            {
                var obj = new Dictionary<string, object>();
                i++;
                Skip(s, ref i);
                if (i < s.Length && s[i] == '}')
                {
                    i++;
                    return obj;
                }
                while (true)
                {
                    Skip(s, ref i);
                    if (i >= s.Length || s[i] != '"')
                        throw Bad(i);
                    string key = String(s, ref i);
                    Skip(s, ref i);
                    if (i >= s.Length || s[i] != ':')
                        throw Bad(i);
                    i++;
                    if (obj.ContainsKey(key))
                        throw new InvalidDataException("duplicate JSON member " + key);
                    obj[key] = Value(s, ref i, depth + 1);
                    Skip(s, ref i);
                    if (i < s.Length && s[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    if (i < s.Length && s[i] == '}')
                    {
                        i++;
                        return obj;
                    }
                    throw Bad(i);
                }
            }
            if (c == '[')
            {
                var list = new List<object>();
                i++;
                Skip(s, ref i);
                if (i < s.Length && s[i] == ']')
                {
                    i++;
                    return list;
                }
                while (true)
                {
                    list.Add(Value(s, ref i, depth + 1));
                    Skip(s, ref i);
                    if (i < s.Length && s[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    if (i < s.Length && s[i] == ']')
                    {
                        i++;
                        return list;
                    }
                    throw Bad(i);
                }
            }
            if (c == '"')
                return String(s, ref i);
            if (Literal(s, ref i, "true"))
                return true;
            if (Literal(s, ref i, "false"))
                return false;
            if (Literal(s, ref i, "null"))
                return null;
            return Number(s, ref i);
        }

        private static bool Literal(string s, ref int i, string word)
        {
            if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0)
                return false;
            i += word.Length;
            return true;
        }

        private static double Number(string s, ref int i)
        {
            int start = i;
            if (i < s.Length && s[i] == '-')
                i++;
            int digits = i;
            while (i < s.Length && char.IsDigit(s[i]) && s[i] < 128)
                i++;
            if (i == digits || (s[digits] == '0' && i - digits > 1))
                throw Bad(start);
            if (i < s.Length && s[i] == '.')
            {
                int frac = ++i;
                while (i < s.Length && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == frac)
                    throw Bad(start);
            }
            if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
            {
                i++;
                if (i < s.Length && (s[i] == '+' || s[i] == '-'))
                    i++;
                int exp = i;
                while (i < s.Length && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == exp)
                    throw Bad(start);
            }
            return double.Parse(s.Substring(start, i - start), System.Globalization.CultureInfo.InvariantCulture);
        }

        private static string String(string s, ref int i)
        {
            var sb = new StringBuilder();
            i++; // the opening quote
            while (i < s.Length)
            {
                char c = s[i++];
                if (c == '"')
                    return sb.ToString();
                if (c < 0x20)
                    throw Bad(i - 1);
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (i >= s.Length)
                    break;
                char e = s[i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        int code;
                        if (i + 4 > s.Length || !int.TryParse(s.Substring(i, 4), System.Globalization.NumberStyles.AllowHexSpecifier,
                                                                System.Globalization.CultureInfo.InvariantCulture, out code))
                            throw Bad(i);
                        sb.Append((char)code);
                        i += 4;
                        break;
                    default:
                        throw Bad(i - 1);
                }
            }
            throw Bad(i);
        }
    }
}
