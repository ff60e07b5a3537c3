"""B-cos model zoo: architectures registered by name."""

from . import _cifar, _conventional, _convnext, _densenet, _resnet, _vgg, _vit  # noqa: F401  (registers the builders)
from ._architectures import ModelSpec, build_model, get_spec, list_architectures, register_architecture
from ._base import BcosClassifier

__all__ = ["BcosClassifier", "ModelSpec", "build_model", "get_spec", "list_architectures", "register_architecture"]
