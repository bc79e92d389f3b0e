"""docs/performance.md's tables are made from benchmark results, never typed."""

import json

from pipeline.bench import docs

RESULTS = {
    "machine": {
        "cpus": 2,
        "cpu_model": "AMD EPYC 9B14",
        "avx512": True,
        "date": "2026-12-02T15:00:00",
    },
    "command": "python -m pipeline.bench --sections startup",
    "sections": {
        "startup": {
            "cfg_job_s": 0.4,
            "import_tensorflow_s": 5.0,
            "cfg_job_vs_import_tensorflow": 0.08,
            "first_step_s": 1.2,
            "steady_step_s": 0.06,
            "first_step_vs_steady_step": 20.0,
        }
    },
}
PAGE = """# P

<!-- bench:startup -->
typed by hand
<!-- /bench:startup -->

prose

<!-- bench:pruning -->
<!-- /bench:pruning -->
"""


def test_a_block_is_made_from_its_section_with_machine_and_command():
    figures = {}
    docs.merge(figures, RESULTS)
    page = docs.rewrite(PAGE, figures)
    block = page.split("<!-- bench:startup -->")[1].split("<!-- /bench:startup -->")[0]
    assert "typed by hand" not in block
    assert (
        "| `python -m pipeline.train --cfg job` | 0.40 s | `import tensorflow`: 5.00 s | 0.08x |"
        in block
    )
    assert (
        "2026-12-02 on 2 cores of AMD EPYC 9B14 (AVX-512): `python -m pipeline.bench --sections startup`"
        in block
    )
    assert page.endswith(
        "prose\n\n<!-- bench:pruning -->\n<!-- /bench:pruning -->\n"
    )  # no figures: left as is
    assert docs.rewrite(page, figures) == page  # made again from the same figures: unchanged


def test_a_run_of_some_sections_replaces_only_those():
    figures = {"pruning": {"figures": {"kept": 1}, "machine": {}, "command": "earlier"}}
    docs.merge(figures, RESULTS)
    assert figures["pruning"]["command"] == "earlier"
    assert figures["startup"]["figures"]["cfg_job_s"] == 0.4


def test_the_page_is_what_its_figures_make():
    """docs/performance.md as committed: every block as docs/performance.json makes it."""
    figures = json.loads(docs.FIGURES.read_text())
    page = docs.PAGE.read_text()
    assert docs.rewrite(page, figures) == page
    assert all(
        docs.BLOCK.format(section) in page for section in figures if section in docs.RENDERERS
    )


def test_a_file_that_is_not_results_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(docs, "FIGURES", tmp_path / "figures.json")
    monkeypatch.setattr(docs, "PAGE", tmp_path / "page.md")
    (tmp_path / "page.md").write_text(PAGE)
    (tmp_path / "bad.json").write_text("{}")
    assert docs.main([str(tmp_path / "bad.json")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "bad.json" in line
    assert not (tmp_path / "figures.json").exists() and (tmp_path / "page.md").read_text() == PAGE


def test_a_block_without_one_begin_before_one_end_is_refused_and_nothing_written(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(docs, "FIGURES", tmp_path / "figures.json")
    monkeypatch.setattr(docs, "PAGE", tmp_path / "page.md")
    broken = PAGE + "<!-- bench:startup -->\n"
    (tmp_path / "page.md").write_text(broken)
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    assert docs.main([str(tmp_path / "results.json")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "the block 'startup' needs one" in line
    assert not (tmp_path / "figures.json").exists() and (tmp_path / "page.md").read_text() == broken


def test_every_block_of_the_page_renders_a_table_from_the_committed_figures():
    figures = json.loads(docs.FIGURES.read_text())
    page = docs.PAGE.read_text()
    names = [name for name in [*docs.RENDERERS, *docs.COMBINED] if docs.BLOCK.format(name) in page]
    assert "searches" in names and "startup" in names
    for name in names:
        rendered = docs.render_block(name, figures)
        assert rendered is not None and rendered.count("\n|") >= 2, name
