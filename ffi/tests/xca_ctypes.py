"""ctypes declarations of the libxconnauth functions the Python-driven tests call.

One place for the signatures (they follow include/xconnauth.h); every script that drives
the C library through ctypes loads it with `load(path)`.
"""

import ctypes

XCA_OK = 0
XCA_BUFFER_TOO_SMALL = 101


def load(lib_path):
    """The library at `lib_path` with argument and result types declared."""
    lib = ctypes.CDLL(str(lib_path))
    u8p = ctypes.c_char_p
    size = ctypes.c_size_t
    sizep = ctypes.POINTER(ctypes.c_size_t)
    status = ctypes.c_uint32
    out = ctypes.POINTER(ctypes.c_void_p)
    for fn in (lib.xca_verifier_new, lib.xca_verifier_new_remote):
        fn.argtypes = [u8p, size, u8p, size, out]
        fn.restype = status
    lib.xca_verifier_free.argtypes = [ctypes.c_void_p]
    lib.xca_verifier_free.restype = None
    for fn in (lib.xca_verify, lib.xca_verify_header):
        fn.argtypes = [ctypes.c_void_p, u8p, size, ctypes.c_int64, ctypes.c_void_p, size, sizep]
        fn.restype = status
    lib.xca_status_name.argtypes = [status]
    lib.xca_status_name.restype = ctypes.c_char_p
    lib.xca_http_status.argtypes = [status]
    lib.xca_http_status.restype = ctypes.c_uint16
    lib.xca_last_error_message.argtypes = [ctypes.c_char_p, size, sizep]
    lib.xca_last_error_message.restype = status
    lib.xca_www_authenticate.argtypes = [status, ctypes.c_char_p, ctypes.c_char_p, size, sizep]
    lib.xca_www_authenticate.restype = status
    return lib
