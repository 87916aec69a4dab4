// Test program for the .NET wrapper: run with the example realm directory.
//   mono Test.exe ../keycloak
using System;
using System.IO;
using System.Threading;
using XConnAuth;

internal static class Test
{
    private const long Now = 1764000000;
    private static int _passed, _failed;

    private static void Check(bool ok, string what)
    {
        if (ok)
        {
            _passed++;
        }
        else
        {
            _failed++;
            Console.Error.WriteLine("FAIL: " + what);
        }
    }

    private static XConnAuthException Throws(Action action)
    {
        try
        {
            action();
        }
        catch (XConnAuthException e)
        {
            return e;
        }
        return null;
    }

    private static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: Test.exe EXAMPLES_DIR");
            return 2;
        }
        string dir = args[0];
        string jwks = File.ReadAllText(Path.Combine(dir, "jwks.json"));
        string policy = File.ReadAllText(Path.Combine(dir, "policy.json"));
        string token = File.ReadAllText(Path.Combine(dir, "token.jwt")).Trim();
        string expired = File.ReadAllText(Path.Combine(dir, "expired.jwt")).Trim();
        string tampered = File.ReadAllText(Path.Combine(dir, "tampered.jwt")).Trim();

        Check(Verifier.Version.Length > 0 && char.IsDigit(Verifier.Version[0]), "version " + Verifier.Version);
        Check(Verifier.StatusName(Status.WrongAudience) == "wrong_audience", "status name");
        Check(Verifier.StatusName((Status)4242) == "unknown", "unknown status name");

        using (var v = new Verifier(jwks, policy))
        {
            string claims = v.Verify(token, Now);
            Check(claims.StartsWith("{") && claims.Contains("\"azp\":\"demo-client\""), "claims: " + claims);
            Check(v.VerifyHeader("Bearer " + token, Now) == claims, "header claims");

            var e = Throws(() => v.Verify(expired, Now));
            Check(e is InvalidTokenException && e.Code == "expired" && e.Status == Status.Expired, "expired");
            Check(e != null && e.Message == "expired: the token has expired", "message: " + (e == null ? "" : e.Message));
            var ite = e as InvalidTokenException;
            Check(ite != null && ite.HttpStatus == 401, "http 401");
            Check(ite != null && ite.WwwAuthenticate("demo") ==
                      "Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"Token expired\"",
                  "www-authenticate");
            Check(ite != null && ite.ProblemJson("urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb", "/orders/1")
                                     .Contains("\"title\":\"Token expired\",\"status\":401"), "problem json");
            Check(Verifier.WwwAuthenticate(Status.MissingScope, "réalm").StartsWith("Bearer realm=\"réalm\""),
                  "UTF-8 realm");

            e = Throws(() => v.Verify(tampered, Now));
            Check(e != null && e.Code == "bad_signature", "tampered");
            e = Throws(() => v.Verify(token));
            Check(e != null && e.Code == "expired", "system clock");
            e = Throws(() => v.VerifyHeader("Basic dXNlcjpwdw==", Now));
            Check(e != null && e.Code == "malformed", "basic");
            e = Throws(() => v.Verify("ä.ö.ü", Now));
            Check(e != null && e.Code == "bad_base64", "non-ASCII token");
            e = Throws(() => v.Verify(token + "\n", Now));
            Check(e != null && e.Code == "malformed", "newline");
            try
            {
                v.Verify(token, -5);
                Check(false, "negative now accepted");
            }
            catch (ArgumentOutOfRangeException)
            {
                Check(true, "negative now");
            }
            try
            {
                v.Verify(null, Now);
                Check(false, "null token accepted");
            }
            catch (ArgumentNullException)
            {
                Check(true, "null token");
            }

            e = Throws(() => v.SetJwks("{\"keys\":[]}"));
            Check(e is ConfigurationException && e.Code == "invalid_config", "empty jwks");
            Check(v.Verify(token, Now) == claims, "old keys kept");

            // 4 threads verify while this one swaps the key set 200 times.
            int wrong = 0, done = 0, rounds = 0;
            var threads = new Thread[4];
            for (int i = 0; i < threads.Length; i++)
            {
                threads[i] = new Thread(() =>
                {
                    while (Volatile.Read(ref done) == 0)
                    {
                        try
                        {
                            if (v.Verify(token, Now) != claims)
                                Interlocked.Increment(ref wrong);
                        }
                        catch (Exception)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                        var x = Throws(() => v.Verify(tampered, Now));
                        if (x == null || x.Code != "bad_signature")
                            Interlocked.Increment(ref wrong);
                        Interlocked.Increment(ref rounds);
                    }
                });
                threads[i].Start();
            }
            for (int i = 0; i < 200; i++)
                v.SetJwks(jwks);
            Volatile.Write(ref done, 1);
            foreach (var t in threads)
                t.Join();
            Check(wrong == 0, wrong + " wrong verdicts in " + rounds + " rounds");
        }

        var c = Throws(() => new Verifier(jwks, "{\"issuer\":\"x\"}"));
        Check(c is ConfigurationException && c.Message.StartsWith("invalid_config: policy: unknown option"),
              "config: " + (c == null ? "" : c.Message));

        // A remote verifier whose issuer is down (nothing listens on loopback port 9):
        // 503 keys_unavailable within the engine's deadline, never a crash or a 401.
        using (var r = Verifier.Remote("{\"issuers\":\"http://127.0.0.1:9/realms/demo\"}",
                                       "{\"timeout\":0.5,\"refresh_cooldown\":60}"))
        {
            Check(r.StatusJson().Contains("\"remote\":true"), "remote status: " + r.StatusJson());
            var u = Throws(() => r.Verify(token, Now)) as InvalidTokenException;
            Check(u != null && u.Status == Status.KeysUnavailable && u.HttpStatus == 503 && u.Code == "keys_unavailable",
                  "down issuer: " + (u == null ? "no InvalidTokenException" : u.Code));
            var f = Throws(() => r.Refresh());
            Check(f != null && f.Status == Status.KeysUnavailable && f.Message.Contains("127.0.0.1:9"),
                  "refresh: " + (f == null ? "" : f.Message));
            var m = Throws(() => r.SetJwks(jwks));
            Check(m != null && m.Status == Status.InvalidArgument, "SetJwks on a remote verifier");
            Check(r.StatusJson().Contains("\"last_error\":\""), "status after failure: " + r.StatusJson());
        }
        var bad = Throws(() => Verifier.Remote("{\"issuers\":\"https://sso.example.com/realms/x\"}", "{\"timeuot\":1}"));
        Check(bad is ConfigurationException, "unknown engine option");
        using (var local = new Verifier(jwks, policy))
        {
            var m = Throws(() => local.Refresh());
            Check(m != null && m.Status == Status.InvalidArgument, "Refresh on a JWKS verifier");
        }

        var disposed = new Verifier(jwks, policy);
        disposed.Dispose();
        disposed.Dispose();
        try
        {
            disposed.Verify(token, Now);
            Check(false, "use after dispose");
        }
        catch (ObjectDisposedException)
        {
            Check(true, "use after dispose");
        }

        Console.WriteLine("dotnet: " + _passed + " passed, " + _failed + " failed");
        return _failed == 0 ? 0 : 1;
    }
}
