#!/usr/bin/env python3
"""Converts every exported users' model with stn-convert, checks the engine against ONNX
Runtime on the same ONNX file, and measures both engines' latency in the same run.

    python3 tools/fixtures/export_users_models.py /tmp/users-models      # first: the models
    python3 tools/experiments/users_models_bench.py \\
        --stn-convert .build/release/stn-convert --stn-bench .build/release/stn-bench \\
        --stn-infer .build/release/stn-infer [--dir /tmp/users-models] [--runs 2000] \\
        [--rounds 1] [--models gtsrb32,two_stn] [--exporters dynamo] [--markdown OUT.md]

It reads DIR/manifest.json (written by export_users_models.py) and, for every ONNX file:

1. `stn-convert MODEL.onnx --out WORK/MODEL.h5`: converted, or the one-line error. A file
   with external data that is refused is converted again from a copy with every weight
   inside the .onnx, so the table shows what blocks it beyond the external data.
2. If it converted, two agreement checks against the expected outputs in
   MODEL-expected.h5 (ONNX Runtime's outputs; PyTorch's theta):
   - `stn-infer IMAGES.idx --weights MODEL.h5 --format json` on the same 4 frames written as
     an 8-bit IDX file (N x H x W, or N x H x W x C): max |log_probs - ONNX Runtime| and max
     |theta - PyTorch| (theta of two_outputs is ONNX Runtime's second output);
   - `stn-convert --run-test CASE` on a case folder built from the same file and frames
     (float tensors input_0.pb / output_0.pb, the engine's float input; the inlined copy if
     the file needed one): its max |engine - expected| over the whole output (log-probs, or
     the rectified image).
   Either may refuse the model; the refusal is reported.
3. Latency, batch 1, one thread, p50 in microseconds, measured model by model in one run,
   alternating which engine goes first each round:
   - ours: `stn-bench infer --weights MODEL.h5 --threads 1 --frames N --json` (its own 200
     warm-up frames). A probe of 10 frames comes first; when the model is so slow that N
     frames would take more than --budget seconds, the probe's p50 is reported, marked `~`.
     When even the probe takes longer than --probe-timeout seconds (stn-bench runs 1,200+
     frames whatever --frames says), the time per frame of `stn-convert --run-test`
     (conversion included: an upper bound) is reported, marked `<~`.
   - ONNX Runtime on the ONNX file: intra_op_num_threads=1, inter_op_num_threads=1,
     ORT_SEQUENTIAL, ORT_ENABLE_ALL, 200 warm-up runs, then --runs runs (fewer when they
     would exceed --budget seconds), p50. Measured for every file, converted or not.

Prints (and with --markdown writes) a markdown table: model, exporter, converted? / error,
max abs error vs ONNX Runtime on log-probs (stn-infer), theta (stn-infer vs PyTorch), the
whole output (--run-test), our p50, ONNX Runtime's p50, ratio (ORT p50 / ours: above 1 means
we are faster). Then the seed ST-CNN (tools/fixtures/seed_model.py) in ONNX Runtime: the committed
export form (Tests/Fixtures/onnx/st-cnn.onnx, decomposed affine grid) next to the "faster
form" (seed_st_cnn-legacy20.onnx: opset 20, one AffineGrid node, dynamo=False), alternating.
Nothing here needs a model to convert: a refused model gets its error and ONNX Runtime's p50.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def one_line(text):
    lines = [l.strip() for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


def run(command, timeout=600):
    """(returncode, stdout, stderr); a timeout is returncode None."""
    try:
        p = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {timeout} s"


def write_idx(path, pixels):
    """pixels [N, C, H, W] uint8 -> IDX: N x H x W (C = 1) or N x H x W x C."""
    n, c, h, w = pixels.shape
    data = pixels[:, 0] if c == 1 else pixels.transpose(0, 2, 3, 1)
    header = bytes([0, 0, 0x08, data.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in data.shape)
    with open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(data).tobytes())


def write_case(case, onnx_path, external, inputs, outputs):
    """An ONNX backend-test case folder: model.onnx (+ its external data) and test_data_set_N."""
    os.makedirs(case, exist_ok=True)
    shutil.copyfile(onnx_path, os.path.join(case, "model.onnx"))
    if external:
        shutil.copyfile(os.path.join(os.path.dirname(onnx_path), external), os.path.join(case, external))
    for i in range(len(inputs)):
        folder = os.path.join(case, f"test_data_set_{i}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "input_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(inputs[i:i + 1], "input").SerializeToString())
        for k, output in enumerate(outputs):
            with open(os.path.join(folder, f"output_{k}.pb"), "wb") as f:
                f.write(onnx.numpy_helper.from_array(output[i:i + 1], f"output_{k}").SerializeToString())


def ort_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_p50(path, frame, runs, budget):
    """ONNX Runtime's p50 in us (and the number of timed runs) on one frame, batch 1."""
    session = ort_session(path)
    feed = {session.get_inputs()[0].name: frame}
    start = time.perf_counter()
    for _ in range(200):
        session.run(None, feed)
    per_run = (time.perf_counter() - start) / 200
    runs = max(50, min(runs, int(budget / max(per_run, 1e-9))))
    times = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        session.run(None, feed)
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000, runs


def our_p50(stn_bench, weights, runs, budget, estimate_us, probe_timeout):
    """stn-bench's p50 in us, the frames timed (0: an estimate, below), and an error line
    (p50 None) if it failed.

    stn-bench runs 200 warm-up frames, the timed frames, up to 2000 frames timed per step
    and at least 1000 frames for its all-cores figure: for a model of 100 ms a frame even a
    10-frame probe takes minutes. So when a frame seems slow (estimate_us, from the timing of
    --run-test, above 20 ms), the probe gets probe_timeout seconds; past that the estimate
    is returned instead (an upper bound: it includes converting the model and building
    the engine once per frame)."""
    timeout = probe_timeout if estimate_us > 20_000 else 1800
    code, out, err = run([stn_bench, "infer", "--weights", weights, "--frames", "10", "--threads", "1", "--json"],
                         timeout=timeout)
    if code is None and estimate_us > 20_000:
        return estimate_us, 0, None
    if code != 0:
        return None, 0, one_line(err) or one_line(out) or f"exit {code}"
    probe = json.loads(out)["p50_us"]
    if probe * 1e-6 * runs > budget:
        return probe, 10, None
    code, out, err = run([stn_bench, "infer", "--weights", weights, "--frames", str(runs), "--threads", "1", "--json"],
                         timeout=900)
    if code != 0:
        return None, 0, one_line(err) or one_line(out) or f"exit {code}"
    return json.loads(out)["p50_us"], runs, None


def infer_errors(stn_infer, weights, idx, expected):
    """(max |log_probs - ORT|, max |theta - reference|, error line) from stn-infer's JSON."""
    code, out, err = run([stn_infer, idx, "--weights", weights, "--format", "json", "--threads", "1"])
    if code != 0:
        return None, None, one_line(err) or f"exit {code}"
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    log_probs = np.array([l.get("log_probs", []) for l in lines], dtype=np.float64)
    reference = expected["output"]
    lp_error = None
    if reference.ndim == 2 and log_probs.shape == reference.shape:
        lp_error = float(np.abs(log_probs - reference).max())
    note = None if lp_error is not None else f"stn-infer gave {log_probs.shape[1:]} scores for output {list(reference.shape[1:])}"
    theta_error = None
    reference_theta = expected.get("theta", expected.get("output_1"))
    thetas = [l.get("theta") for l in lines]
    if reference_theta is not None and all(t is not None for t in thetas):
        ours = np.array(thetas, dtype=np.float64).reshape(len(lines), -1)
        theirs = reference_theta.reshape(len(lines), -1)
        if ours.shape == theirs.shape:
            theta_error = float(np.abs(ours - theirs).max())
        else:
            note = (note + "; " if note else "") + f"theta has {ours.shape[1]} values, expected {theirs.shape[1]}"
    elif reference_theta is not None:
        note = (note + "; " if note else "") + "no theta reported"
    return lp_error, theta_error, note


def run_test(stn_convert, case):
    """(max |engine - expected| over the output, error line)."""
    code, out, err = run([stn_convert, "--run-test", case])
    text = out + err
    found = re.search(r"max \|engine - expected\| ([0-9.eE+-]+|inf|nan)", text) or \
        re.search(r"\(max error ([0-9.eE+-]+|inf|nan)\)", text)
    value = float(found.group(1)) if found else None
    if code == 0:
        return value, None
    return value, one_line(err) or one_line(out) or f"exit {code}"


def convert(stn_convert, onnx_path, weights):
    """(exit code, one-line error without the tool's and the file's prefixes)."""
    code, out, err = run([stn_convert, onnx_path, "--out", weights])
    error = one_line(err) or one_line(out) or f"exit {code}"
    for prefix in ("stn-convert: error: ", onnx_path + ": "):
        error = error[len(prefix):] if error.startswith(prefix) else error
    return code, error


def row_status(row):
    """converted / refused text, naming the external-data refusal and the inlined copy's fate."""
    status = row["status"]
    if status == "converted":
        status = f"yes (v{row['version']})"
    if row.get("inlined"):
        status = f"refused: {row['external_error']}; weights inlined: {status}"
    return status


def fmt_error(value):
    return "" if value is None else f"{value:.1e}"


def short(text, limit=150):
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stn-convert", required=True)
    p.add_argument("--stn-bench", required=True)
    p.add_argument("--stn-infer", required=True)
    p.add_argument("--dir", default="/tmp/users-models", help="export_users_models.py's output")
    p.add_argument("--runs", type=int, default=2000, help="timed runs per engine and model")
    p.add_argument("--budget", type=float, default=20.0, help="seconds of timed runs per engine and model")
    p.add_argument("--probe-timeout", type=float, default=90,
                   help="seconds for stn-bench's 10-frame probe of a model that seems slow")
    p.add_argument("--rounds", type=int, default=1, help="latency rounds (the order alternates)")
    p.add_argument("--models", help="only these models (comma-separated)")
    p.add_argument("--exporters", help="only these exporters (comma-separated)")
    p.add_argument("--markdown", help="also write the tables to this file")
    p.add_argument("--keep", help="keep converted weight files and cases in this folder")
    a = p.parse_args()
    tools = {k: os.path.abspath(getattr(a, k.replace("-", "_"))) for k in ("stn-convert", "stn-bench", "stn-infer")}
    manifest = json.load(open(os.path.join(a.dir, "manifest.json")))
    if a.models:
        manifest = [e for e in manifest if e["model"] in a.models.split(",")]
    if a.exporters:
        manifest = [e for e in manifest if e["exporter"] in a.exporters.split(",")]
    models = list(dict.fromkeys(e["model"] for e in manifest))  # first-seen order, exporters sorted
    manifest.sort(key=lambda e: (models.index(e["model"]), e["exporter"]))
    work = a.keep or tempfile.mkdtemp(prefix="users-bench-")
    os.makedirs(work, exist_ok=True)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"onnxruntime {ort.__version__}, CPU {cpu}, {os.cpu_count()} CPUs; work folder {work}", flush=True)

    rows = []
    for e in manifest:
        row = {"model": e["model"], "exporter": e["exporter"]}
        rows.append(row)
        if "export_error" in e:
            row["status"] = "not exported: " + e["export_error"]
            continue
        onnx_path = os.path.join(a.dir, e["file"])
        base = e["file"][:-5]
        with h5py.File(os.path.join(a.dir, e["expected"]), "r") as f:
            expected = {k: f[k][()] for k in f.keys()}
        row["frame"] = expected["input"][:1]
        row["onnx"] = onnx_path
        weights = os.path.join(work, base + ".h5")
        code, error = convert(tools["stn-convert"], onnx_path, weights)
        if code != 0 and e.get("external_data"):
            # Refused for its external data: what would block it once that is read? Try a
            # copy with every weight inside the .onnx (onnx.load reads the .data file).
            row["external_error"] = error
            inline = os.path.join(work, base + "-inline.onnx")
            onnx.save(onnx.load(onnx_path), inline)
            code, error = convert(tools["stn-convert"], inline, weights)
            row["inlined"] = True
            converted_path, external = inline, None
        else:
            converted_path, external = onnx_path, e.get("external_data")
        if code != 0:
            row["status"] = "refused: " + error
            print(f"{base:32} {row_status(row)}", flush=True)
            continue
        row["status"] = "converted"
        row["weights"] = weights
        with h5py.File(weights, "r") as f:
            description = f.attrs.get("model_description", b"")
        description = description.decode() if isinstance(description, bytes) else str(description)
        row["version"] = description.split()[1] if description.startswith("stn-model") else "?"
        idx = os.path.join(work, base + "-images.idx")
        write_idx(idx, expected["pixels"])
        row["lp_error"], row["theta_error"], row["infer_note"] = infer_errors(
            tools["stn-infer"], weights, idx, expected)
        case = os.path.join(work, "case-" + base)
        outputs = [expected["output"]] + ([expected["output_1"]] if "output_1" in expected else [])
        write_case(case, converted_path, external, expected["input"], outputs)
        started = time.perf_counter()
        row["test_error"], row["test_note"] = run_test(tools["stn-convert"], case)
        four = time.perf_counter() - started
        one_case = os.path.join(work, "case1-" + base)
        write_case(one_case, converted_path, external, expected["input"][:1], [o[:1] for o in outputs])
        started = time.perf_counter()
        run_test(tools["stn-convert"], one_case)
        row["estimate_us"] = max(0.0, (four - (time.perf_counter() - started)) / 3 * 1e6)
        print(f"{base:32} {row_status(row)}; log-probs {fmt_error(row['lp_error'])}, "
              f"theta {fmt_error(row['theta_error'])}, run-test {fmt_error(row['test_error'])}"
              + (f"; stn-infer: {row['infer_note']}" if row["infer_note"] else "")
              + (f"; run-test: {row['test_note']}" if row["test_note"] else ""), flush=True)

    # Latency: model by model, both engines back to back, the order alternating per round.
    for r in range(a.rounds):
        for i, row in enumerate(rows):
            if "onnx" not in row:
                continue
            order = ["ort", "ours"] if (r + i) % 2 == 0 else ["ours", "ort"]
            for engine in order:
                if engine == "ort":
                    p50, runs = ort_p50(row["onnx"], row["frame"], a.runs, a.budget)
                    row.setdefault("ort", []).append(p50)
                    row["ort_runs"] = runs
                elif "weights" in row and not row.get("bench_error"):
                    p50, frames, error = our_p50(tools["stn-bench"], row["weights"], a.runs, a.budget,
                                                   row["estimate_us"], a.probe_timeout)
                    if error:
                        row["bench_error"] = error
                    else:
                        row.setdefault("ours", []).append(p50)
                        row["our_frames"] = frames
            ours = f"{row['ours'][-1]:.0f} us" if row.get("ours") else row.get("bench_error", "-")
            print(f"round {r + 1} {row['model']:20} {row['exporter']:9} ORT {row['ort'][-1]:.0f} us, ours {ours}",
                  flush=True)

    lines = [f"CPU: {cpu}, {os.cpu_count()} CPUs; onnxruntime {ort.__version__}; batch 1, one thread, p50 "
             f"(median over {a.rounds} round(s) of up to {a.runs} runs; `~`: stn-bench's 10-frame probe, the model "
             f"too slow for more; `<~`: stn-bench too slow even for that, an upper bound from the time of "
             f"`stn-convert --run-test` per frame, conversion included)", "",
             "| model | exporter | converted? / error | log-probs err (stn-infer) | theta err | output err (--run-test) "
             "| ours p50 us | ORT p50 us | ORT / ours |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        status = row_status(row)
        notes = []
        if row["status"] == "converted":
            if row.get("infer_note"):
                notes.append("stn-infer: " + row["infer_note"])
            if row.get("test_note"):
                notes.append("run-test: " + row["test_note"])
            if row.get("bench_error"):
                notes.append("stn-bench: " + row["bench_error"])
        if notes:
            status += "; " + "; ".join(notes)
        ours = statistics.median(row["ours"]) if row.get("ours") else None
        theirs = statistics.median(row["ort"]) if row.get("ort") else None
        mark = {10: "~", 0: "<~"}.get(row.get("our_frames"), "")
        lines.append(
            f"| {row['model']} | {row['exporter']} | {short(status, 220)} | {fmt_error(row.get('lp_error'))} | "
            f"{fmt_error(row.get('theta_error'))} | {fmt_error(row.get('test_error'))} | "
            f"{mark + format(ours, ',.0f') if ours else ''} | {format(theirs, ',.0f') if theirs else ''} | "
            f"{mark + format(theirs / ours, '.2f') if ours and theirs else ''} |")

    # The seed ST-CNN in ONNX Runtime: the committed export form against the faster form.
    seed_forms = [("Tests/Fixtures/onnx/st-cnn.onnx (dynamo, decomposed affine grid)",
                   os.path.join(ROOT, "Tests", "Fixtures", "onnx", "st-cnn.onnx")),
                  ("seed_st_cnn-legacy20.onnx (dynamo=False, opset 20, one AffineGrid node)",
                   os.path.join(a.dir, "seed_st_cnn-legacy20.onnx"))]
    seed_forms = [(label, path) for label, path in seed_forms if os.path.exists(path)]
    if seed_forms:
        frame = np.random.RandomState(0).randint(0, 256, size=(1, 1, 42, 42)).astype(np.float32) / 255
        timings = {label: [] for label, _ in seed_forms}
        for r in range(max(3, a.rounds)):
            for label, path in (seed_forms if r % 2 == 0 else seed_forms[::-1]):
                timings[label].append(ort_p50(path, frame, a.runs, a.budget)[0])
        lines += ["", "Seed ST-CNN in ONNX Runtime (same weights, Weights/st-cnn.h5), p50 us per round, "
                  "rounds alternating the order:", "", "| form | p50 per round | median |", "| --- | --- | --- |"]
        for label, values in timings.items():
            lines.append(f"| {label} | {', '.join(f'{v:.0f}' for v in values)} | {statistics.median(values):.0f} |")
    text = "\n".join(lines)
    print()
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
