#!/usr/bin/env python3
"""Bar chart (SVG) and Markdown tables from the criterion output of benches/peers.rs.

Usage: python3 benches/plot.py [CRITERION_DIR ...] [--svg OUT.svg]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion. With
several directories (runs kept apart with CRITERION_HOME), each measurement is taken
from the run where it was fastest: on a shared machine that is the run least disturbed
by other load. The SVG
(default benches/peers.svg, next to this script) shows the median time per
verification of every implementation, one panel per key size. The tables (stdout) are
the ones in benches/README.md. Standard library only: criterion's own plots need
`plotters`, which the bench leaves out.
"""

import html
import json
import os
import sys
from pathlib import Path

# Display order and colours; names are the criterion function ids of peers.rs.
PEERS = [
    ("xconnauth-aws-lc", "xconnauth, aws-lc backend", "#1f4e9c"),
    ("xconnauth-rust", "xconnauth, pure-Rust backend", "#4f86d9"),
    ("jsonwebtoken-aws-lc", "jsonwebtoken 10, aws_lc_rs", "#d9822b"),
    ("jsonwebtoken-rust-crypto", "jsonwebtoken 10, rust_crypto", "#f0b37e"),
    ("jwt-compact", "jwt-compact 0.8 (rsa 0.9)", "#8c8c8c"),
    ("jwt-simple", "jwt-simple 0.15, pure-rust", "#b0b0b0"),
    ("raw-aws-lc", "raw aws-lc-rs verify (no JWT)", "#5aa469"),
    ("raw-rsa", "raw rsa 0.10-rc verify (no JWT)", "#9fd3a8"),
]
CABI = ["xca_verify", "core-verify-copy", "core-verify_into-copy"]
THREADED = ["xconnauth-aws-lc", "xconnauth-rust", "jsonwebtoken-aws-lc", "xca_verify"]


def criterion_dirs(argv):
    if argv:
        return [Path(a) for a in argv]
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    return [Path(target) / "criterion"]


def load_all(roots, fastest=False):
    out = {}
    for root in roots:
        for key, value in load(root, fastest).items():
            out[key] = min(value, out.get(key, value))
    return out


def load(root, fastest=False):
    """{(group, function_id): ns per iteration} from every new/benchmark.json under
    root: criterion's median estimate, or with `fastest` the fastest sample."""
    out = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        if fastest:
            sample = json.loads((bench.parent / "sample.json").read_text())
            value = min(t / n for t, n in zip(sample["times"], sample["iters"]))
        else:
            est = json.loads((bench.parent / "estimates.json").read_text())
            value = est["median"]["point_estimate"]
        out[(meta["group_id"], meta["function_id"])] = value
    return out


def sizes(results, prefix):
    return sorted({int(g.split("-")[1]) for g, _ in results if g.startswith(prefix + "-")})


def us(ns):
    return ns / 1000.0


def fmt(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def tables(r, what):
    bits = sizes(r, "peers")
    lines = [f"{what} µs per verification (ratio: this ÷ the reference; < 1 is faster):", ""]
    head = "| implementation |" + "".join(f" {b} µs |" for b in bits)
    head += "".join(f" {b} ÷ jsonwebtoken aws_lc_rs |" for b in bits)
    head += "".join(f" {b} ÷ raw aws-lc |" for b in bits)
    lines += [head, "|---|" + "---:|" * (3 * len(bits))]
    for name, label, _ in PEERS:
        row = f"| {label} |"
        vals = [r.get((f"peers-{b}", name)) for b in bits]
        row += "".join(f" {fmt(us(v))} |" if v else " – |" for v in vals)
        for ref in ("jsonwebtoken-aws-lc", "raw-aws-lc"):
            for b, v in zip(bits, vals):
                base = r.get((f"peers-{b}", ref))
                row += f" {v / base:.2f} |" if v and base else " – |"
        lines.append(row)
    lines.append("")

    lines += [f"Goals ({what.lower()}):", ""]
    for b in bits:
        g = lambda n: r.get((f"peers-{b}", n))  # noqa: E731
        fast, rust = g("xconnauth-aws-lc"), g("xconnauth-rust")
        jwt_aws, jwt_rc, raw = g("jsonwebtoken-aws-lc"), g("jsonwebtoken-rust-crypto"), g("raw-aws-lc")
        if None in (fast, rust, jwt_aws, jwt_rc, raw):
            continue
        lines.append(
            f"- {b}: aws-lc backend {jwt_aws / fast:.2f}× faster than jsonwebtoken+aws_lc_rs "
            f"(goal ≥ 1.25), {fast / raw:.3f}× raw aws-lc (goal ≤ 1.15); pure-Rust backend "
            f"{jwt_rc / rust:.2f}× faster than jsonwebtoken+rust_crypto (goal ≥ 2.5)"
        )
    lines.append("")

    cbits = sizes(r, "cabi")
    if cbits:
        lines += ["C ABI (median µs; overhead = xca_verify ÷ core − 1):", ""]
        lines += ["| key bits | `xca_verify` | core `verify` + copy | core `verify_into` + copy "
                  "| overhead vs `verify` + copy | overhead vs `verify_into` + copy |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for b in cbits:
            c, v, vi = (r.get((f"cabi-{b}", n)) for n in CABI)
            if None in (c, v, vi):
                continue
            lines.append(f"| {b} | {us(c):.2f} | {us(v):.2f} | {us(vi):.2f} | "
                         f"{(c / v - 1) * 100:+.1f} % | {(c / vi - 1) * 100:+.1f} % |")
        lines.append("")

    tbits = sizes(r, "threads")
    for b in tbits:
        lines += [f"Throughput, {b}-bit key, one shared verifier (verifications/s, wall time):", "",
                  "| implementation | 1 thread | 2 threads | scaling |", "|---|---:|---:|---:|"]
        for name in THREADED:
            t1, t2 = r.get((f"threads-{b}", f"{name}/1")), r.get((f"threads-{b}", f"{name}/2"))
            if t1 and t2:
                lines.append(f"| {name} | {1e9 / t1:,.0f} | {1e9 / t2:,.0f} | {t1 / t2:.2f}× |")
        lines.append("")
    return "\n".join(lines)


def load_interleaved(roots):
    """The interleaved-rounds report of the first directory that has one, as
    ({(group, op): median ns}, {(bits, op): {reference: ratio}}), or None."""
    for root in roots:
        path = root / "peers-interleaved.json"
        if path.exists():
            report = json.loads(path.read_text())
            medians, ratios = {}, {}
            for bits, ops in report.items():
                for op, entry in ops.items():
                    group = "peers" if op in dict((n, 0) for n, _, _ in PEERS) else "cabi"
                    medians[(f"{group}-{bits}", op)] = entry["median_ns"]
                    ratios[(int(bits), op)] = {k[len("ratio_"):]: v for k, v in entry.items()
                                               if k.startswith("ratio_")}
            return medians, ratios
    return None


def interleaved_tables(medians, ratios):
    bits = sizes(medians, "peers")
    lines = ["Interleaved rounds: median µs per verification, and the median over rounds of "
             "(this ÷ reference) timed in the same round:", ""]
    lines += ["| implementation |" + "".join(f" {b} µs |" for b in bits)
              + "".join(f" {b} ÷ jsonwebtoken aws_lc_rs |" for b in bits)
              + "".join(f" {b} ÷ raw aws-lc |" for b in bits),
              "|---|" + "---:|" * (3 * len(bits))]
    for name, label, _ in PEERS:
        row = f"| {label} |"
        row += "".join(f" {fmt(us(medians[(f'peers-{b}', name)]))} |" for b in bits)
        for ref in ("jsonwebtoken-aws-lc", "raw-aws-lc"):
            row += "".join(f" {ratios[(b, name)][ref]:.2f} |" for b in bits)
        lines.append(row)
    lines += ["", "Goals (interleaved ratios):", ""]
    for b in bits:
        q = lambda n, ref: ratios[(b, n)][ref]  # noqa: E731
        jwt = "jsonwebtoken-aws-lc"
        lines.append(
            f"- {b}: aws-lc backend {1 / q('xconnauth-aws-lc', jwt):.2f}× faster than "
            f"jsonwebtoken+aws_lc_rs (goal ≥ 1.25), {q('xconnauth-aws-lc', 'raw-aws-lc'):.3f}× "
            f"raw aws-lc (goal ≤ 1.15); pure-Rust backend "
            f"{q('jsonwebtoken-rust-crypto', jwt) / q('xconnauth-rust', jwt):.2f}× faster than "
            f"jsonwebtoken+rust_crypto (goal ≥ 2.5)")
    cbits = sizes(medians, "cabi")
    if cbits:
        lines += ["", "| key bits | `xca_verify` µs | core `verify` + copy µs | `xca_verify` ÷ "
                  "core `verify` + copy | core `verify_into` + copy ÷ core `verify` + copy |",
                  "|---:|---:|---:|---:|---:|"]
        for b in cbits:
            lines.append(
                f"| {b} | {us(medians[(f'cabi-{b}', 'xca_verify')]):.2f} | "
                f"{us(medians[(f'cabi-{b}', 'core-verify-copy')]):.2f} | "
                f"{ratios[(b, 'xca_verify')]['core-verify-copy']:.3f} | "
                f"{ratios[(b, 'core-verify_into-copy')]['core-verify-copy']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def svg(r):
    bits = sizes(r, "peers")
    bar_h, gap, label_w, panel_w, top = 22, 6, 250, 300, 58
    rows = len(PEERS)
    height = top + rows * (bar_h + gap) + 40
    width = label_w + len(bits) * (panel_w + 20) + 20
    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="15" font-weight="bold">RS256 verification of a '
           f'Keycloak access token: median µs per verification (shorter is faster)</text>']
    for i, (_, label, _) in enumerate(PEERS):
        y = top + i * (bar_h + gap) + bar_h * 0.7
        out.append(f'<text x="{label_w - 8}" y="{y:.1f}" text-anchor="end">{e(label)}</text>')
    for p, b in enumerate(bits):
        x0 = label_w + p * (panel_w + 20)
        vals = [r.get((f"peers-{b}", name)) for name, _, _ in PEERS]
        vmax = max(v for v in vals if v) / 1000.0
        scale = (panel_w - 50) / vmax
        out.append(f'<text x="{x0}" y="{top - 12}" font-weight="bold">{b}-bit key</text>')
        out.append(f'<line x1="{x0}" y1="{top - 4}" x2="{x0}" '
                   f'y2="{top + rows * (bar_h + gap)}" stroke="#333"/>')
        for i, ((_, _, colour), v) in enumerate(zip(PEERS, vals)):
            if not v:
                continue
            y = top + i * (bar_h + gap)
            w = us(v) * scale
            out.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
            out.append(f'<text x="{x0 + w + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{fmt(us(v))}</text>')
    out.append(f'<text x="10" y="{height - 14}" fill="#555">Key parsed once; same token and '
               f'policy for every implementation; raw = SHA-256 + RSA only, no JWT work. '
               f'Source: benches/benches/peers.rs, benches/README.md.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    out = Path(__file__).resolve().parent / "peers.svg"
    if "--svg" in args:
        i = args.index("--svg")
        out = Path(args[i + 1])
        del args[i:i + 2]
    roots = criterion_dirs(args)
    results = load_all(roots)
    if not any(g.startswith("peers-") for g, _ in results):
        sys.exit(f"no peers-* results under {roots}: run `cargo bench -p xconnauth-benches --bench peers` first")
    inter = load_interleaved(roots)
    if inter:
        print(interleaved_tables(*inter))
    print("Criterion:\n")
    print(tables(results, "Median"))
    print(tables(load_all(roots, fastest=True), "Fastest-sample"))
    # The chart shows the interleaved medians when there are some: the same numbers
    # as the README's main table.
    out.write_text(svg(inter[0] if inter else results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
