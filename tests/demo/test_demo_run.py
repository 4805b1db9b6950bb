from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from docrelay.demo import DemoOptions, run_demo
from docrelay.demo.run import DemoFailure, _links


def test_demo_verifies_statuses_and_file_in_org(tmp_path: Path) -> None:
    output = io.StringIO()
    console = Console(file=output, width=200, force_terminal=False)
    code = run_demo(DemoOptions(data_dir=tmp_path / "data", timeout=60), console)
    text = output.getvalue()
    assert code == 0, text
    for status in ("DCR", "DSS", "DCO"):
        assert f"Salesforce shows {status}" in text
    assert "matches" in text
    assert "Demo verified" in text


def test_demo_uses_a_given_pdf(tmp_path: Path, sample_pdf_dir: Path) -> None:
    output = io.StringIO()
    console = Console(file=output, width=200, force_terminal=False)
    pdf = sample_pdf_dir / "002-trivial-libre-office-writer.pdf"
    code = run_demo(DemoOptions(pdf=pdf, data_dir=tmp_path / "data", timeout=60), console)
    assert code == 0, output.getvalue()
    assert "002-trivial-libre-office-writer.pdf" in output.getvalue()


def test_demo_rejects_missing_signing_links() -> None:
    with pytest.raises(DemoFailure, match="expected 2 signing links"):
        _links({"links": [{"signatory": 1, "url": "http://127.0.0.1/sign/abc"}]})
