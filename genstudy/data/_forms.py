"""The pydantic models of a spec's ``dataset`` mapping forms (folder, npz), kept with the data.

``genstudy.spec`` uses ``DatasetSource`` for its ``dataset`` field; the loaders here use the
models without importing the spec (no import cycle between genstudy.data and genstudy.spec).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

__all__ = ["DatasetSource", "FolderDatasetSpec", "NpzDatasetSpec"]


class _Strict(BaseModel):
    # as genstudy.spec's models: unknown keys refused, NaN and infinity refused
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic reads true as 1 in a number field: a YAML slip, not a number
        raise ValueError("expected a number, got true/false")
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]
Fraction = Annotated[float, BeforeValidator(_not_bool), Field(gt=0, lt=1)]


def _sums_to_one(value: tuple[float, float, float]) -> tuple[float, float, float]:
    if abs(sum(value) - 1.0) > 1e-6:
        raise ValueError(f"the train/val/test fractions sum to {sum(value):g}, not 1; e.g. use [0.8, 0.1, 0.1]")
    return value


def _three(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and len(value) != 3:
        raise ValueError(f"expected 3 fractions [train, val, test], got {len(value)}; e.g. use [0.8, 0.1, 0.1]")
    return value


DatasetSplit = Annotated[tuple[Fraction, Fraction, Fraction], BeforeValidator(_three), AfterValidator(_sums_to_one)]


class FolderDatasetSpec(_Strict):
    """``dataset: {folder: PATH, size: 32, channels: 3}``: PNG/JPEG files under PATH (recursive);
    one subfolder per class gives labels. Relative paths are read from the working directory."""

    folder: str = Field(min_length=1)
    size: Whole | None = Field(default=None, ge=4, le=4096)  # square side; None: images share one size
    channels: Annotated[Literal[1, 3], BeforeValidator(_not_bool)] | None = None  # None: 3 if any colour
    split: DatasetSplit = (0.8, 0.1, 0.1)

    @property
    def display_name(self) -> str:
        from genstudy.data import display_name

        return display_name(self)


class NpzDatasetSpec(_Strict):
    """``dataset: {npz: PATH}``: array ``x`` (N, C, H, W) or (N, H, W), optional labels ``y`` (N,)."""

    npz: str = Field(min_length=1)
    split: DatasetSplit = (0.8, 0.1, 0.1)

    @property
    def display_name(self) -> str:
        from genstudy.data import display_name

        return display_name(self)


def _dataset_form(value: Any) -> Any:
    """A mapping becomes the dataset model its key names (errors keep their keys: dataset.size);
    anything else but a name is refused here with the forms a dataset may take."""
    if isinstance(value, dict):
        kinds = [k for k in ("folder", "npz") if k in value]
        if len(kinds) == 1:
            model = FolderDatasetSpec if kinds == ["folder"] else NpzDatasetSpec
            unknown = [k for k in value if k not in model.model_fields]
            if unknown:  # named here: the generic message would list StudySpec's keys
                known = ", ".join(model.model_fields)
                raise ValidationError.from_exception_data(model.__name__, [{
                    "type": PydanticCustomError("dataset_key", "unknown key of a {kind} dataset: remove it or use one of {known}",
                                                {"kind": kinds[0], "known": known}),
                    "loc": (unknown[0],), "input": value[unknown[0]]}])
            return model.model_validate(value)
        if len(kinds) == 2:
            raise PydanticCustomError("dataset_form", "give folder: or npz:, not both")
    if isinstance(value, (str, FolderDatasetSpec, NpzDatasetSpec)):
        return value
    raise PydanticCustomError("dataset_form", "expected a built-in dataset name such as mnist5k, "
                                              "or a mapping {folder: PATH} or {npz: PATH}")


DatasetSource = Annotated[StrictStr | FolderDatasetSpec | NpzDatasetSpec, BeforeValidator(_dataset_form)]
