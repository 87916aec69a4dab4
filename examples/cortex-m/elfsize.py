#!/usr/bin/env python3
"""Flash and static RAM of 32-bit little-endian ARM ELF firmware, from its section headers.

Plain Python so that run.sh needs no binutils for the target: flash is every allocated
section stored in the image (vector table, code, read-only data, and the initial values
of .data), static RAM is .data + .bss + .uninit.

usage: elfsize.py ELF [--embedded FILE ...]
  --embedded FILE...  files the firmware include_bytes!'s (sample tokens, JWKS): their
                      sizes are reported and subtracted from flash.
"""

import struct
import sys

SHT_NOBITS = 8
SHF_ALLOC = 0x2
RAM_SECTIONS = (".data", ".bss", ".uninit")


def sections(path):
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 1 or elf[5] != 1:
        sys.exit(f"{path}: not a 32-bit little-endian ELF")
    shoff, = struct.unpack_from("<I", elf, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", elf, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = headers[shstrndx][4]

    def name(off):
        end = elf.index(b"\x00", strtab_off + off)
        return elf[strtab_off + off:end].decode()

    for h in headers:
        sh_name, sh_type, sh_flags, _addr, _off, sh_size = h[:6]
        if sh_flags & SHF_ALLOC and sh_size:
            yield name(sh_name), sh_type, sh_size


def main(argv):
    if not argv:
        sys.exit(__doc__)
    path, rest = argv[0], argv[1:]
    embedded = 0
    if rest[:1] == ["--embedded"]:
        for f in rest[1:]:
            with open(f, "rb") as fh:
                embedded += len(fh.read())
    flash = ram = 0
    for name, typ, size in sections(path):
        if typ != SHT_NOBITS:
            flash += size
        if name in RAM_SECTIONS:
            ram += size
    print(f"flash={flash} embedded={embedded} flash_code={flash - embedded} static_ram={ram}")


if __name__ == "__main__":
    main(sys.argv[1:])
