import pytest
import torch

from worldmodel.config import ModelConfig


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.fixture
def state_config() -> ModelConfig:
    return ModelConfig(scenario="pads", obs="state", state_dim=14, n_dynamic=4, latent_dim=8,
                       hidden=32)
