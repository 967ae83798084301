#!/usr/bin/env python3
"""Bench/scripts/report.py: slb-bench results (JSON) -> README tables + SVG charts.

    python3 Bench/scripts/report.py [RESULTS_DIR] [--readme Bench/README.md] [--check]

RESULTS_DIR defaults to the newest Bench/results/YYYY-MM-DD. Writes <scenario>.svg next to each
<scenario>.json it finds (distribution, scale, forwarding) and replaces the text between
<!-- results:begin --> and <!-- results:end --> in the README with the tables, each under the
date, build and exact command that produced it. --check only prints the section.
Python 3 standard library only.
"""
import json
import os
import sys
from html import escape

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
PALETTE = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6"]


def newest_results():
    root = os.path.join(BENCH, "results")
    days = sorted(d for d in os.listdir(root) if len(d) == 10 and d[4] == "-") if os.path.isdir(root) else []
    if not days:
        sys.exit("report.py: no Bench/results/YYYY-MM-DD directory")
    return os.path.join(root, days[-1])


def number(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def pct(value, digits=2):
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def bar_chart(title, unit, bars):
    """bars: (label, value, group, note). Same layout as BenchKit's BarChart."""
    label_w, bar_w, row_h, top = 300.0, 420.0, 22.0, 40.0
    width, height = label_w + bar_w + 170, top + len(bars) * row_h + 20
    peak = max([b[1] for b in bars] + [1e-12])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{int(width)}" height="{int(height)}" '
           f'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (label, value, group, note) in enumerate(bars):
        y = top + i * row_h
        length = max(0.0, value / peak * bar_w)
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
        out.append(f'<text x="{int(label_w - 8)}" y="{y + 15:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{int(label_w)}" y="{y + 3:.1f}" width="{length:.1f}" height="{int(row_h - 6)}" '
                   f'fill="{PALETTE[group % len(PALETTE)]}"/>')
        out.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 15:.1f}">'
                   f'{escape(shown + " " + unit + ((" " + note) if note else ""))}</text>')
    return "\n".join(out) + "\n</svg>\n"


def provenance(doc, name):
    run = doc["run"]
    smoke = " (smoke size)" if run.get("smoke") else ""
    return (f"{run['date']}, {run['build']} build{smoke}, {run['cpus']} CPUs, kernel {run['kernel']}. "
            f"Command: `{run['command']}`. Chart: [{name}.svg](results/{os.path.basename(RESULTS)}/{name}.svg)")


def distribution(doc):
    p = doc["parameters"]
    rows = [[v["variant"], number(v["maxDeviation"] * 100, 2), f"{v['jainIndex']:.5f}", pct(v["stickyConsistency"]),
             number(v["newFlowNanoseconds"]), number(v["establishedNanoseconds"]), number(v["bytesPerClient"]),
             number(v["peakConnections"])] for v in doc["variants"]]
    shares = [[v["variant"], r["real"], r["weight"], pct(r["target"]), number(r["clients"]), pct(r["share"])]
              for v in doc["variants"] for r in v["reals"]]
    text = [f"### distribution\n\n{provenance(doc, 'distribution')}\n",
            f"{p['clients']:,} clients (seed {p['seed']}) arrive over {p['arrivalWindow']} s, stay "
            f"{p['lifetime'][0]}–{p['lifetime'][1]} s, send data every {p['dataInterval'][0]}–{p['dataInterval'][1]} s "
            f"({p['nattShare'] * 100:.0f} % NAT-T, the rest ESP) and ISAKMP every {p['ikeEvery']}th time; farm `{p['farm']}`.\n",
            table(["variant", "max deviation (pp)", "Jain (share/target)", "sticky consistency", "new flow ns",
                   "established ns", "table B/client (peak)", "peak connections"], rows), "",
            table(["variant", "real", "weight", "target", "clients", "share"], shares), ""]
    live = doc.get("live")
    if live:
        lp = live["parameters"]
        if "received" in live:
            # Results written before the live run used slb client (synthetic packets).
            text += [f"Live (synthetic packets through slb run, {lp['clients']} clients, counted at the gateways): "
                     f"{live['consistentClients']}/{live['clientsSeen']} clients on one gateway "
                     f"({pct(live['stickyConsistency'])}), {live['received']:,} of {live['sent']:,} packets received, "
                     f"max deviation {live['maxDeviation'] * 100:.2f} pp.\n"]
        else:
            live_rows = [[r["real"], r["weight"], pct(r["target"]), number(r["clients"]), pct(r["share"])] for r in live["reals"]]
            text += [f"Live: {lp['clients']} `slb client` IKEv2 tunnels ({lp['pings']} pings each, {lp['concurrency']} "
                     f"negotiations in flight) from lab client addresses through `slb run` to the lab's `slb gateway`s; "
                     f"placement read from each gateway's `show crypto ipsec sa --json`.\n",
                     table(["real (live)", "weight", "target", "clients", "share"], live_rows), "",
                     f"{live['established']}/{lp['clients']} tunnels up, {live['pingOK']} answered every ping, "
                     f"{live['nattTunnels']} NAT-T. Max deviation {live['maxDeviation'] * 100:.2f} pp, "
                     f"Jain {live['jainIndex']:.5f}. Sticky consistency (IKE SA and ESP SAs on one gateway, no SA elsewhere, "
                     f"its ESP decrypted there): {live['consistentClients']}/{live['clientsSeen']} "
                     f"({pct(live['stickyConsistency'])}). Gateways decrypted {live['espDecrypted']:,} ESP packets for "
                     f"{live['pingsSent']:,} pings and dropped {live['espDroppedAtGateways']:,} (esp.* counters). IKE setup median {live['setupMedianMilliseconds']:.0f} ms, "
                     f"p95 {live['setupP95Milliseconds']:.0f} ms; client run {live['clientSeconds']:.1f} s.\n"]
    bars = [(f"{v['variant']}: {r['real']}", r["share"] * 100, g, f"(target {r['target'] * 100:.1f})")
            for g, v in enumerate(doc["variants"]) for r in v["reals"]]
    return "\n".join(text), bar_chart(f"Client share per real, {p['clients']:,} clients", "%", bars)


def scale(doc):
    r = doc["result"]
    rows = [["clients / connections / sticky objects", f"{r['clients']:,} / {r['connections']:,} / {r['stickyObjects']:,}"],
            ["new clients per second (sticky miss, WRR, 3 inserts)", f"{r['clientsPerSecond']:,.0f} ({r['insertSeconds']:.2f} s)"],
            ["established lookups per second", f"{r['lookupsPerSecond']:,.0f}"],
            ["RSS delta", f"{r['rssDeltaBytes'] / 1048576:.1f} MiB ({r['rssBytesPerClient']:.0f} B per client)"],
            ["engine tables (own footprint)", f"{r['tableBytes'] / 1048576:.1f} MiB"],
            ["bytes per connection / per sticky object", f"{r['bytesPerConnection']:.1f} / {r['bytesPerStickyObject']:.1f}"],
            [f"expire {r['purgedConnections']:,} connections (one call)", f"{r['purgeSeconds'] * 1000:.2f} ms"]]
    bars = [("new clients", r["clientsPerSecond"] / 1e6, 0, ""),
            ("established lookups", r["lookupsPerSecond"] / 1e6, 1, ""),
            ("expired connections", (r["purgedConnections"] / r["purgeSeconds"] / 1e6) if r["purgeSeconds"] else 0, 2, "")]
    text = f"### scale\n\n{provenance(doc, 'scale')}\n\n" + table(["measure", "value"], rows) + "\n"
    return text, bar_chart(f"Scale: {r['clients']:,} sticky clients, {r['connections']:,} connections", "M/s", bars)


def forwarding(doc):
    p = doc["parameters"]
    rows = [[s["kind"], s["variant"], s["runs"], number(s["medianDeliveredPPS"]), number(s["medianOfferedPPS"]),
             pct(s["medianLoss"], 1), f"{s['ratioToSLB']:.2f}", number(s.get("medianForwarderCPUSecondsPerMpkt"), 2),
             number(s.get("medianSoftirqSecondsPerMpkt"), 2), f"{s['senderBoundRuns']}/{s['runs']}",
             pct(s["medianSenderWaitShare"], 0) if s.get("medianSenderWaitShare") is not None else "-"]
            for s in doc["summary"]]
    nice = p.get("senderNice")
    text = (f"### forwarding\n\n{provenance(doc, 'forwarding')}\n\n"
            f"{p['runs']} interleaved runs × {p['seconds']:g} s per variant and packet kind, {p['clients']} clients, "
            f"forwarder on CPU {p['forwarderCPU']}, sender on CPU {p['senderCPU']}"
            + (f" at nice {nice}" if nice is not None else "") + f", slb backend {p['backend']}. "
            "Medians; \"vs slb\" is the median of per-run ratios to slb run in the same round.\n\n"
            + table(["packets", "forwarder", "runs", "delivered pps", "offered pps", "loss", "vs slb",
                     "slb CPU-s / Mpkt", "softirq s / Mpkt (all CPUs)", "sender-bound runs", "sender waited"], rows)
            + "\n\n" + "\n".join("- " + n for n in doc.get("notes", [])) + "\n")
    kinds = p["kinds"]
    bars = [(f"{s['kind']}: {s['variant']}", s["medianDeliveredPPS"], kinds.index(s["kind"]) if s["kind"] in kinds else 0,
             f"({s['senderBoundRuns']}/{s['runs']} sender-bound)" if s["senderBoundRuns"] else "") for s in doc["summary"]]
    return text, bar_chart("Forwarding through the slb namespace (median delivered pps, one forwarding CPU)", "pps", bars)


def main(argv):
    global RESULTS
    args = [a for a in argv if not a.startswith("--")]
    readme = os.path.join(BENCH, "README.md")
    if "--readme" in argv:
        readme = argv[argv.index("--readme") + 1]
        args = [a for a in args if a != readme]
    RESULTS = os.path.abspath(args[0]) if args else newest_results()
    sections = [f"Generated by `python3 Bench/scripts/report.py` from `Bench/results/{os.path.basename(RESULTS)}/*.json`."]
    for name, render in (("distribution", distribution), ("scale", scale), ("forwarding", forwarding)):
        path = os.path.join(RESULTS, name + ".json")
        if not os.path.exists(path):
            sections.append(f"### {name}\n\nNot run for this date.\n")
            continue
        with open(path) as f:
            doc = json.load(f)
        text, svg = render(doc)
        sections.append(text)
        if "--check" not in argv:
            with open(os.path.join(RESULTS, name + ".svg"), "w") as f:
                f.write(svg)
    body = "\n".join(sections)
    if "--check" in argv:
        print(body)
        return
    with open(readme) as f:
        content = f.read()
    if BEGIN not in content or END not in content:
        sys.exit(f"report.py: {readme} has no {BEGIN} ... {END} markers")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(readme, "w") as f:
        f.write(head + BEGIN + "\n" + body + "\n" + END + tail)
    print(f"report.py: {readme} results section and SVG charts in {RESULTS} updated")


RESULTS = ""
if __name__ == "__main__":
    main(sys.argv[1:])
