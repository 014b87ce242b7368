"""A wheel built from the repo (not the editable install) holds what the server reads at run time: the web page
(api/static/) and the prompts (prompts/), all inside the one top-level package `rag`. Installed by pip into a
fresh venv beside other distributions named `api` and `evals`, it leaves theirs alone, imports its own, and its
`rag` command serves / and answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SAMPLE_REPORT, free_port, serve_on_loopback

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "rag", "api", "evals", "prompts")
# Other projects' top-level packages, with modules named like the checkout's own.
STUBS = {"api": ("main", "errors"), "evals": ("run",)}


def build_wheel(source: Path, dist: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(dist), str(source)], check=True, timeout=300)
    (wheel,) = dist.glob(f"{source.name}-*.whl")
    return wheel


def stub_project(folder: Path, name: str, modules: tuple[str, ...]) -> Path:
    project = folder / name
    (project / name).mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "9.9"\n\n[tool.setuptools]\npackages = ["{name}"]\n')
    (project / name / "__init__.py").write_text(f'OWNER = "stub {name}"\n')
    for module in modules:
        (project / name / f"{module}.py").write_text(f'OWNER = "stub {name}.{module}"\n')
    return project


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The product's wheel and the stubs' wheels."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "rag"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    wheel = build_wheel(source, work / "dist")
    stubs = {name: build_wheel(stub_project(work / "stubs", name, modules), work / "dist")
             for name, modules in STUBS.items()}
    return wheel, stubs, work


@pytest.fixture(scope="module")
def venv(built):
    """A fresh venv holding, by pip install, the stub `api`, then the product's wheel, then the stub `evals`
    (a clash shows whichever way round it is installed). Its dependencies come from the test venv, on a path
    entry after the fresh venv's own site-packages, so the stubs come first as they would in any venv."""
    wheel, stubs, work = built
    home = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    python = home / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "test_venv_dependencies.pth").write_text(
        "\n".join(dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])) + "\n")
    for package in (stubs["api"], wheel, stubs["evals"]):
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                        str(package)], check=True, timeout=300)
    return home, work


def outside_checkout(**extra: str) -> dict[str, str]:
    """The environment without PYTHONPATH (which may name the checkout): nothing but the venv may supply rag, api
    or evals."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def run_in(venv_home: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    # -P and a cwd outside the checkout, for the same reason.
    return subprocess.run([str(venv_home / "bin" / "python"), "-P", *args], cwd=work, env=outside_checkout(),
                          capture_output=True, text=True, timeout=300)


def test_wheel_installs_one_top_level_package_holding_the_page_and_the_prompts(built):
    wheel, _, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"rag", "rag-0.1.0.dist-info"}
    assert "rag/api/static/index.html" in names
    assert {"rag/prompt_files/answer.md", "rag/prompt_files/system.md", "rag/prompt_files/condense.md"} <= set(names)
    assert "rag-0.1.0.dist-info/licenses/LICENSE" in names


def test_wheel_holds_every_file_of_rag_and_api_and_every_module_of_evals(built):
    """The wheel's packages are listed by hand (package-dir renames them): a new subpackage left off the list, or
    a data file no package-data pattern takes, would be missing from the wheel only."""
    wheel, _, work = built
    source = work / "rag"

    def files(folder: str, pattern: str = "*") -> set[str]:
        return {str(p.relative_to(source / folder)) for p in (source / folder).rglob(pattern)
                if p.is_file() and "__pycache__" not in p.parts}

    expected = ({f"rag/{f}" for f in files("rag")} | {f"rag/api/{f}" for f in files("api")}
                | {f"rag/evals/{f}" for f in files("evals", "*.py")}
                | {f"rag/prompt_files/{f}" for f in files("prompts", "*.md")})
    assert expected - set(zipfile.ZipFile(wheel).namelist()) == set()


def test_wheel_metadata_names_the_license_classifiers_and_urls_and_no_unused_dependency(built):
    wheel, _, _ = built
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read("rag-0.1.0.dist-info/METADATA").decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Framework :: FastAPI" in metadata.get_all("Classifier")
    assert any(url.startswith("Homepage, https://") for url in metadata.get_all("Project-URL"))
    runtime = {req.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
               for req in metadata.get_all("Requires-Dist") if "extra ==" not in req}
    assert "langchain-core" in runtime
    assert not {"langchain", "httpx"} & runtime


def test_installed_wheel_leaves_other_api_and_evals_packages_alone(venv):
    home, work = venv
    result = run_in(home, work, "-c", "import api, api.main, evals, evals.run; "
                                      "print(api.OWNER, api.main.OWNER, evals.OWNER, evals.run.OWNER)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stub", "api", "stub", "api.main", "stub", "evals", "stub", "evals.run"]


def test_installed_wheel_imports_its_own_front_ends_and_prompts(venv):
    home, work = venv
    result = run_in(home, work, "-c", "import rag, rag.prompts as p, rag.api.main, rag.evals.run; "
                                      "from rag.cli import front_end; "
                                      "print(rag.__file__, front_end('api.main').__name__, "
                                      "front_end('evals.run').__name__, p.load_prompt('answer').variables)")
    assert result.returncode == 0, result.stderr
    path, app_module, evals_module, variables = result.stdout.split(maxsplit=3)
    assert path.startswith(str(home)), "must import the installed copy, not the checkout"
    assert (app_module, evals_module) == ("rag.api.main", "rag.evals.run")
    assert "question" in variables


def test_installed_wheel_serves_the_page_and_answers(venv):
    home, work = venv
    corpus = work / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(SAMPLE_REPORT, corpus / SAMPLE_REPORT.name)
    index = work / "index"
    rag = str(home / "bin" / "rag")
    ingest = subprocess.run([rag, "ingest", str(corpus), "--index", str(index)], cwd=work, env=outside_checkout(),
                            capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [rag, "serve", "--port", str(port), "--index", str(index)]
    with serve_on_loopback("installed rag serve", command, f"{url}/readyz", work / "serve.log", 120,
                           env=outside_checkout(RAG_LLM="extractive")):
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "<title>Broker report assistant</title>" in page.text
        answer = httpx.post(f"{url}/v1/ask", json={"question": "How much will global AI server shipments grow "
                                                               "in 2026?"}, timeout=60).json()
        assert "20.9%" in answer["answer"] and answer["citations"]
