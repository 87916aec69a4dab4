// P/Invoke wrapper for libxconnauth (include/xconnauth.h): a SafeHandle-owned verifier,
// exceptions that carry the stable error code, UTF-8 in and out.
//
// Works on Mono (mcs) and .NET (csc / dotnet); C# 6, no unsafe code. The native library
// is found as "xconnauth" (libxconnauth.so via LD_LIBRARY_PATH or the system path).
using System;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace XConnAuth
{
    /// <summary>Status codes of libxconnauth (xca_status): values are fixed forever.</summary>
    public enum Status : uint
    {
        // BEGIN generated: status (tools/gen-errors from core/src/error_table.rs: do not edit, run make generate)
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>
        /// Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
        /// wrong <c>Bearer</c> scheme.
        /// </summary>
        Malformed = 1,
        /// <summary>A segment is not canonical unpadded base64url.</summary>
        BadBase64 = 2,
        /// <summary>
        /// The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
        /// JSON type.
        /// </summary>
        BadJson = 3,
        /// <summary>
        /// The token is longer than the policy's <c>max_token_bytes</c>, or one of its JSON
        /// objects is beyond the size limits.
        /// </summary>
        TooLarge = 4,
        /// <summary>The header carries <c>crit</c>, <c>b64</c> or <c>cty</c>.</summary>
        UnsupportedHeader = 5,
        /// <summary><c>alg</c> is missing, <c>none</c>, HMAC, or not in the policy's <c>algorithms</c>.</summary>
        UnsupportedAlg = 6,
        /// <summary>No usable signing key matches the token (the signal to refetch the JWKS).</summary>
        UnknownKid = 7,
        /// <summary>The selected key is too small, too large, or has a bad exponent.</summary>
        WeakKey = 8,
        /// <summary>The signature does not verify.</summary>
        BadSignature = 9,
        /// <summary>A claim the policy requires is absent.</summary>
        MissingClaim = 10,
        /// <summary><c>now &gt;= exp + leeway</c>.</summary>
        Expired = 11,
        /// <summary><c>now &lt; nbf - leeway</c>.</summary>
        NotYetValid = 12,
        /// <summary><c>iat &gt; now + leeway</c>.</summary>
        IssuedInFuture = 13,
        /// <summary><c>iss</c> is not one of the trusted issuers (or the key belongs to another issuer).</summary>
        WrongIssuer = 14,
        /// <summary>No <c>aud</c> value is an accepted audience.</summary>
        WrongAudience = 15,
        /// <summary>
        /// The <c>typ</c> claim is not the expected token type, or the header <c>typ</c> is not one of
        /// the policy's <c>header_types</c>.
        /// </summary>
        WrongType = 16,
        /// <summary>A required scope is not granted (HTTP 403).</summary>
        MissingScope = 17,
        /// <summary>A required realm or client role is not granted (HTTP 403).</summary>
        MissingRole = 18,
        /// <summary>
        /// Not a token error: a verifier that fetches its keys from an issuer has no key
        /// set yet that could judge this token (the issuer was unreachable since start).
        /// HTTP 503: the client may retry; the token may well be fine.
        /// </summary>
        KeysUnavailable = 19,
        /// <summary>A required pointer argument is NULL.</summary>
        NullArgument = 100,
        /// <summary>The output buffer is too small; the needed length was written to the length output.</summary>
        BufferTooSmall = 101,
        /// <summary>The JWKS or the policy JSON is invalid (see <c>xca_last_error_message()</c>).</summary>
        InvalidConfig = 102,
        /// <summary>A <c>const char *</c> argument is not UTF-8.</summary>
        InvalidUtf8 = 103,
        /// <summary>A Rust panic was caught at the API boundary (a bug in xconnauth: please report it).</summary>
        Panic = 104,
        /// <summary><c>now &lt; 0</c> asked for the system clock, and the clock is before 1970.</summary>
        ClockError = 105,
        /// <summary>
        /// An argument is out of range: a length above <c>PTRDIFF_MAX</c>, or a status that is not
        /// a token category where one is required.
        /// </summary>
        InvalidArgument = 106,
        // END generated: status
    }

    internal static class Native
    {
        private const string Lib = "xconnauth";

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verifier_new(byte[] jwks, UIntPtr jwksLen, byte[] policy, UIntPtr policyLen,
                                                       out VerifierHandle verifier);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verifier_new_remote(byte[] policy, UIntPtr policyLen, byte[] options,
                                                              UIntPtr optionsLen, out VerifierHandle verifier);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verifier_refresh(VerifierHandle verifier);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verifier_status_json(VerifierHandle verifier, byte[] buf, UIntPtr cap,
                                                               out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verifier_set_jwks(VerifierHandle verifier, byte[] jwks, UIntPtr jwksLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verify(VerifierHandle verifier, byte[] token, UIntPtr tokenLen, long now,
                                                 byte[] claimsOut, UIntPtr claimsCap, out UIntPtr claimsLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_verify_header(VerifierHandle verifier, byte[] value, UIntPtr valueLen, long now,
                                                        byte[] claimsOut, UIntPtr claimsCap, out UIntPtr claimsLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void xca_verifier_free(IntPtr verifier);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr xca_status_name(Status status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ushort xca_http_status(Status status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr xca_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_last_error_message(byte[] buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_www_authenticate(Status status, byte[] realm, byte[] outBuf, UIntPtr cap,
                                                           out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status xca_problem_json(Status status, byte[] typeUri, byte[] instance, byte[] outBuf,
                                                       UIntPtr cap, out UIntPtr len);

        /// <summary>A static NUL-terminated UTF-8 string from the library.</summary>
        internal static string StaticString(IntPtr p)
        {
            if (p == IntPtr.Zero)
                return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0)
                n++;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>NUL-terminated UTF-8 for a <c>const char *</c>, or null for NULL.</summary>
        internal static byte[] CString(string s)
        {
            if (s == null)
                return null;
            var bytes = Encoding.UTF8.GetBytes(s);
            if (Array.IndexOf(bytes, (byte)0) >= 0)
                throw new ArgumentException("the string contains a NUL character");
            Array.Resize(ref bytes, bytes.Length + 1);
            return bytes;
        }

        internal delegate Status TextCall(byte[] buf, UIntPtr cap, out UIntPtr len);

        /// <summary>Calls a text-output function: size query, then an exact buffer.</summary>
        internal static string Text(TextCall call)
        {
            UIntPtr len;
            var buf = new byte[256];
            var s = call(buf, (UIntPtr)buf.Length, out len);
            if (s == Status.BufferTooSmall)
            {
                buf = new byte[(int)len.ToUInt64() + 1];
                s = call(buf, (UIntPtr)buf.Length, out len);
            }
            if (s != Status.Ok)
                throw XConnAuthException.From(s, null);
            return Encoding.UTF8.GetString(buf, 0, (int)len.ToUInt64());
        }

        /// <summary>The calling thread's last error message (must run right after the failed call).</summary>
        internal static string LastError()
        {
            try
            {
                return Text(xca_last_error_message);
            }
            catch (XConnAuthException)
            {
                return "";
            }
        }
    }

    /// <summary>Owns an <c>xca_verifier *</c>; frees it exactly once, after the last call using it.</summary>
    public sealed class VerifierHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private VerifierHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            Native.xca_verifier_free(handle);
            return true;
        }
    }

    /// <summary>Any failure reported by libxconnauth; <see cref="Code"/> is the stable code string.</summary>
    public class XConnAuthException : Exception
    {
        public Status Status { get; private set; }

        /// <summary>"expired", "invalid_config", ... (the strings of xca_status_name).</summary>
        public string Code { get; private set; }

        internal XConnAuthException(Status status, string message)
            : base(string.IsNullOrEmpty(message) ? Verifier.StatusName(status) : message)
        {
            Status = status;
            Code = Verifier.StatusName(status);
        }

        internal static XConnAuthException From(Status status, string message)
        {
            if (Verifier.HttpStatus(status) != 0)
                return new InvalidTokenException(status, message);
            if (status == Status.InvalidConfig)
                return new ConfigurationException(message);
            return new XConnAuthException(status, message);
        }
    }

    /// <summary>The token was rejected (one of the 18 categories).</summary>
    public sealed class InvalidTokenException : XConnAuthException
    {
        internal InvalidTokenException(Status status, string message) : base(status, message)
        {
        }

        /// <summary>401, 403 for missing_scope / missing_role, or 503 for keys_unavailable.</summary>
        public int HttpStatus
        {
            get { return Verifier.HttpStatus(Status); }
        }

        /// <summary>The RFC 6750 WWW-Authenticate value to answer with.</summary>
        public string WwwAuthenticate(string realm)
        {
            return Verifier.WwwAuthenticate(Status, realm);
        }

        /// <summary>An RFC 7807 ProblemDetails JSON body.</summary>
        public string ProblemJson(string typeUri, string instance)
        {
            return Verifier.ProblemJson(Status, typeUri, instance);
        }
    }

    /// <summary>The JWKS or the policy is invalid.</summary>
    public sealed class ConfigurationException : XConnAuthException
    {
        internal ConfigurationException(string message) : base(Status.InvalidConfig, message)
        {
        }
    }

    /// <summary>
    /// A verifier: trusted keys plus a policy (JSON options object). Thread-safe: share one
    /// instance. Keys either come from a JWKS you supply (the constructors;
    /// <see cref="SetJwks"/> swaps them atomically while others verify) or from the
    /// issuers themselves (<see cref="Remote"/>: discovery, caching, refresh on an unknown
    /// kid, last good keys, all in libxconnauth's key engine).
    /// </summary>
    public sealed class Verifier : IDisposable
    {
        private readonly VerifierHandle _handle;

        private Verifier(VerifierHandle handle)
        {
            _handle = handle;
        }

        /// <summary>
        /// A verifier that fetches the keys of the policy's <c>issuers</c> itself (OIDC
        /// discovery, https only except loopback, no redirects, one deadline per fetch).
        /// <paramref name="optionsJson"/>: the engine options as a JSON object
        /// (<c>timeout</c>, <c>refresh_cooldown</c>, <c>min_ttl</c>, <c>max_ttl</c>,
        /// <c>ca_file</c>, <c>fail_fast</c>, ... in seconds), or null for the defaults.
        /// Verify calls then refresh by themselves on an unknown kid (waiting at most the
        /// <c>timeout</c>); until an issuer's first fetch succeeds they throw
        /// <see cref="InvalidTokenException"/> with <see cref="Status.KeysUnavailable"/> (HTTP 503).
        /// </summary>
        public static Verifier Remote(string policyJson, string optionsJson = null)
        {
            var policy = Encoding.UTF8.GetBytes(Required(policyJson, "policyJson"));
            var options = optionsJson == null ? null : Encoding.UTF8.GetBytes(optionsJson);
            VerifierHandle h;
            var s = Native.xca_verifier_new_remote(policy, (UIntPtr)policy.Length, options,
                                                   (UIntPtr)(options == null ? 0 : options.Length), out h);
            if (s != Status.Ok)
            {
                var message = Native.LastError();
                if (h != null)
                    h.SetHandleAsInvalid();
                throw XConnAuthException.From(s, message);
            }
            return new Verifier(h);
        }

        /// <summary>
        /// Fetches every issuer's keys now (remote verifiers only), waiting at most the
        /// engine's <c>timeout</c>. On failure the last good keys stay in use and an
        /// <see cref="XConnAuthException"/> with <see cref="Status.KeysUnavailable"/> says why.
        /// </summary>
        public void Refresh()
        {
            var s = Native.xca_verifier_refresh(Handle);
            if (s != Status.Ok)
                throw XConnAuthException.From(s, Native.LastError());
        }

        /// <summary>
        /// The key engine's state as JSON: per issuer the last success and error, the fetch
        /// count and the key ids (<c>{"remote":false,...}</c> for a JWKS verifier).
        /// </summary>
        public string StatusJson()
        {
            var h = Handle;
            return Native.Text((byte[] b, UIntPtr c, out UIntPtr l) => Native.xca_verifier_status_json(h, b, c, out l));
        }

        public Verifier(string jwks, string policyJson)
            : this(Encoding.UTF8.GetBytes(Required(jwks, "jwks")), Encoding.UTF8.GetBytes(Required(policyJson, "policyJson")))
        {
        }

        public Verifier(byte[] jwks, byte[] policyJson)
        {
            Required(jwks, "jwks");
            Required(policyJson, "policyJson");
            VerifierHandle h;
            var s = Native.xca_verifier_new(jwks, (UIntPtr)jwks.Length, policyJson, (UIntPtr)policyJson.Length, out h);
            if (s != Status.Ok)
            {
                var message = Native.LastError();
                if (h != null)
                    h.SetHandleAsInvalid();
                throw XConnAuthException.From(s, message);
            }
            _handle = h;
        }

        public static string Version
        {
            get { return Native.StaticString(Native.xca_version()); }
        }

        public static string StatusName(Status status)
        {
            return Native.StaticString(Native.xca_status_name(status));
        }

        public static int HttpStatus(Status status)
        {
            return Native.xca_http_status(status);
        }

        public static string WwwAuthenticate(Status status, string realm)
        {
            var r = Native.CString(realm);
            return Native.Text((byte[] b, UIntPtr c, out UIntPtr l) => Native.xca_www_authenticate(status, r, b, c, out l));
        }

        public static string ProblemJson(Status status, string typeUri, string instance)
        {
            var t = Native.CString(typeUri);
            var i = Native.CString(instance);
            return Native.Text((byte[] b, UIntPtr c, out UIntPtr l) => Native.xca_problem_json(status, t, i, b, c, out l));
        }

        /// <summary>Replaces the trusted keys (key rotation); the old keys stay on error.</summary>
        public void SetJwks(string jwks)
        {
            var bytes = Encoding.UTF8.GetBytes(Required(jwks, "jwks"));
            var s = Native.xca_verifier_set_jwks(Handle, bytes, (UIntPtr)bytes.Length);
            if (s != Status.Ok)
                throw XConnAuthException.From(s, Native.LastError());
        }

        /// <summary>
        /// Verifies a compact JWS and returns its claims (the payload JSON, as signed).
        /// <paramref name="now"/>: unix seconds, or null for the system clock.
        /// Throws <see cref="InvalidTokenException"/> with the category.
        /// </summary>
        public string Verify(string token, long? now = null)
        {
            return Call(Native.xca_verify, Encoding.UTF8.GetBytes(Required(token, "token")), now);
        }

        /// <summary>Verifies an Authorization header value, "Bearer &lt;token&gt;".</summary>
        public string VerifyHeader(string authorization, long? now = null)
        {
            return Call(Native.xca_verify_header, Encoding.UTF8.GetBytes(Required(authorization, "authorization")), now);
        }

        private delegate Status VerifyCall(VerifierHandle v, byte[] input, UIntPtr len, long now, byte[] outBuf,
                                           UIntPtr cap, out UIntPtr outLen);

        private string Call(VerifyCall call, byte[] input, long? now)
        {
            // A negative value would mean "system clock" to the library; an explicit time
            // must not silently become that.
            if (now.HasValue && now.Value < 0)
                throw new ArgumentOutOfRangeException("now", "unix time must not be negative");
            long when = now.HasValue ? now.Value : -1;
            // The decoded payload is always shorter than the token, so one call suffices;
            // the retry only guards against a future change of that.
            var buf = new byte[Math.Max(64, input.Length)];
            UIntPtr len;
            var s = call(Handle, input, (UIntPtr)input.Length, when, buf, (UIntPtr)buf.Length, out len);
            if (s == Status.BufferTooSmall)
            {
                buf = new byte[(int)len.ToUInt64()];
                s = call(Handle, input, (UIntPtr)input.Length, when, buf, (UIntPtr)buf.Length, out len);
            }
            if (s != Status.Ok)
                throw XConnAuthException.From(s, Native.LastError());
            return Encoding.UTF8.GetString(buf, 0, (int)len.ToUInt64());
        }

        private VerifierHandle Handle
        {
            get
            {
                if (_handle.IsClosed)
                    throw new ObjectDisposedException("Verifier");
                return _handle;
            }
        }

        public void Dispose()
        {
            // SafeHandle defers the free until no P/Invoke call is using the handle.
            _handle.Dispose();
        }

        private static T Required<T>(T value, string name) where T : class
        {
            if (value == null)
                throw new ArgumentNullException(name);
            return value;
        }
    }
}
