"""Loading the kit's saved models with errors that name the folder and what is wrong.

diffusers' ``from_pretrained`` reads any folder's ``config.json`` into the class it is called
on: a motion-model folder handed to the autoencoder gets a warning about ignored config keys
and then a shape error about a layer ("Cannot load  because content_embed.bias …") that does
not say which folder or which model. The kit's models check first.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CheckedLoadingMixin"]


class CheckedLoadingMixin:
    """Put before ``ModelMixin``: ``from_pretrained`` checks that the local folder exists and holds
    this class (its ``config.json``'s ``_class_name``), and names the folder in any error."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        folder = Path(pretrained_model_name_or_path) / (kwargs.get("subfolder") or "")
        name = cls.__name__
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder: expected a {name} saved with save_pretrained "
                                    f"(config.json + diffusion_pytorch_model.safetensors); the kit loads from "
                                    f"local folders only")
        config = folder / "config.json"
        if not config.is_file():
            raise FileNotFoundError(f"{folder} has no config.json: it is not a saved {name}")
        try:
            found = json.loads(config.read_text()).get("_class_name")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{config} is not valid JSON ({err}); the saved model is damaged") from None
        if found != name:
            raise ValueError(f"{folder} holds a {found or 'model of unknown class'}, not a {name}: check which "
                             f"stage's output folder this is")
        kwargs.setdefault("local_files_only", True)
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except (OSError, ValueError, RuntimeError) as err:
            reason = str(err).splitlines()[0].split(". If you want")[0]  # diffusers appends advice for the hub
            raise ValueError(f"could not load the {name} in {folder}: {reason}") from None
