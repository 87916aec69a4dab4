// A remote service that validates Keycloak bearer tokens itself, through libxconnauth
// (examples/dotnet/XConnAuth.cs), and answers GET /api/data only to tokens with the right
// issuer, audience and scope.
//
// Keys come from the realm through libxconnauth's key engine (Verifier.Remote): OIDC
// discovery gives jwks_uri; the JWKS is refetched at least every --refresh seconds, and
// when a token names an unknown key (at most once per --cooldown seconds, so forged kids
// cannot make us hammer the realm), each fetch bounded by --fetch-timeout-ms. A failed
// fetch keeps the last good keys. Until the first fetch succeeds requests get 503.
// No HTTP client, discovery or JSON parser of its own: the same engine serves C, Rust,
// Python and the CLI.
//
// Builds with Mono's mcs (C# 6, System.dll only) and with the .NET 8 SDK.
using System;
using System.Collections.Generic;
using System.Globalization;
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
        public string CaFile;

        public const string Usage =
            "usage: RemoteService.exe --issuer URL [--audience A]... [--scope S]... [--policy FILE]\n" +
            "         [--jwks-url URL] [--bind ADDR] [--port N] [--realm R] [--problem-type URI]\n" +
            "         [--refresh SECONDS] [--cooldown SECONDS] [--fetch-timeout-ms N] [--ca-file PEM]\n" +
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
                    case "--ca-file": o.CaFile = v; break;
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
    /// Owns the verifier, whose keys libxconnauth's engine keeps fresh (discovery, cache
    /// lifetime, refresh on an unknown kid with a cooldown, last good keys, one deadline per
    /// fetch): this class only turns the command line into engine options.
    /// </summary>
    internal sealed class KeyManager : IDisposable
    {
        private readonly Verifier _verifier;

        public KeyManager(Options options)
        {
            var engine = new StringBuilder("{\"timeout\":")
                .Append((options.FetchTimeoutMs / 1000.0).ToString(CultureInfo.InvariantCulture))
                .Append(",\"refresh_cooldown\":").Append(options.CooldownSeconds)
                .Append(",\"max_ttl\":").Append(options.RefreshSeconds)
                .Append(",\"min_ttl\":").Append(Math.Min(60, options.RefreshSeconds));
            if (options.JwksUrl != null)
                engine.Append(",\"jwks_uris\":{").Append(Json.Quote(options.Issuer)).Append(':')
                      .Append(Json.Quote(options.JwksUrl)).Append('}');
            if (options.CaFile != null)
                engine.Append(",\"ca_file\":").Append(Json.Quote(options.CaFile));
            _verifier = Verifier.Remote(options.PolicyJson(), engine.Append('}').ToString());
        }

        /// <summary>Fetches at once so the first request need not wait; a failure is only logged
        /// (requests get 503 until the engine's next attempt succeeds).</summary>
        public void Start()
        {
            try
            {
                _verifier.Refresh();
                Log.Line("keys fetched");
            }
            catch (XConnAuthException e)
            {
                Log.Line("first fetch failed ({0}); answering 503 until keys arrive", e.Message);
            }
        }

        /// <summary>Every issuer has keys.</summary>
        public bool Ready
        {
            get { return !StatusJson().Contains("\"kids\":[]"); }
        }

        /// <summary>The engine's state: last success and error, fetch count, key ids per issuer.</summary>
        public string StatusJson()
        {
            return _verifier.StatusJson();
        }

        /// <summary>Verifies; an unknown kid makes the engine refetch (within its cooldown and deadline).</summary>
        public string VerifyHeader(string authorization)
        {
            return _verifier.VerifyHeader(authorization);
        }

        public void Dispose()
        {
            _verifier.Dispose();
        }
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
                bool ready = _keys.Ready;
                Send(ctx, ready ? 200 : 503, "application/json",
                     "{\"status\":" + (ready ? "\"ok\"" : "\"no keys\"") + ",\"keys\":" + _keys.StatusJson() + "}");
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
                if (e.Status == Status.KeysUnavailable)
                    ctx.Response.AddHeader("Retry-After", "5"); // the realm is unreachable: not the token's fault
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
    }
}
