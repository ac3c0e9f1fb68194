"""Study specs: YAML files validated with pydantic into a frozen ``StudySpec``.

A spec is data, never code: it is read with ``yaml.safe_load`` and every key is checked.
Every problem becomes one ``SpecError`` line naming the file, the key, the value and the fix.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from genstudy.data._forms import DatasetSource, FolderDatasetSpec, NpzDatasetSpec
from genstudy.errors import SpecError
from genstudy.schema import ObjectiveDef

__all__ = ["FolderDatasetSpec", "NpzDatasetSpec", "StudySpec", "load_spec", "parse_spec", "spec_digest"]


class _Strict(BaseModel):
    # NaN and infinity pass every range check (nan < 1 and nan > 1 are both false): refuse them
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic reads true as 1 in a number field: a YAML slip, not a number
        raise ValueError("expected a number, got true/false")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
Whole = Annotated[int, BeforeValidator(_not_bool)]
MAX_SEED = 2**31 - 1  # numpy's RandomState (Optuna's samplers) takes seeds below 2**32; workers add offsets


class FloatParam(_Strict):
    type: Literal["float"]
    low: Number
    high: Number
    log: StrictBool = False
    step: Number | None = Field(default=None, gt=0)


class IntParam(_Strict):
    type: Literal["int"]
    low: Whole
    high: Whole
    log: StrictBool = False
    step: Whole = Field(default=1, ge=1)


class CategoricalParam(_Strict):
    type: Literal["categorical"]
    choices: list[bool | int | float | str] = Field(min_length=1)


ParamSpec = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


class SamplerSpec(_Strict):
    name: Literal["tpe", "random", "grid"] = "tpe"
    seed: Whole = Field(default=0, ge=0, le=MAX_SEED)
    n_startup_trials: Whole = Field(default=4, ge=0, le=1_000_000)


class PrunerSpec(_Strict):
    name: Literal["median", "hyperband", "none"] = "median"
    n_startup_trials: Whole = Field(default=2, ge=0, le=1_000_000)
    n_warmup_steps: Whole = Field(default=1, ge=0, le=100_000)


class BudgetSpec(_Strict):
    epochs: Whole = Field(default=5, ge=1, le=100_000)
    n_trials: Whole = Field(default=8, ge=1, le=1_000_000)
    # epochs between resume checkpoints (0: none); a retried trial continues from the last one
    checkpoint_every: Whole = Field(default=1, ge=0, le=100_000)


class EvaluationSpec(_Strict):
    n_samples: Whole = Field(default=1000, ge=10, le=1_000_000)
    iwae_k: Whole = Field(default=50, ge=1, le=100_000)
    prune_fid_samples: Whole = Field(default=500, ge=10, le=100_000)




class StudySpec(_Strict):
    """A whole study: what to train, on what data, what to search, how to judge it."""

    objective: str
    dataset: DatasetSource = "mnist5k"  # a built-in name, FolderDatasetSpec or NpzDatasetSpec
    metrics: list[str] = Field(default_factory=lambda: ["fid"], min_length=1)
    repeats: Whole = Field(default=1, ge=1, le=1000)
    seed: Whole = Field(default=0, ge=0, le=MAX_SEED)
    budget: BudgetSpec = BudgetSpec()
    # training arithmetic: bf16 autocast where the hardware runs it natively (CUDA with bf16, CPUs
    # with AVX-512 BF16 or AMX), else fp32; evaluation is always fp32. Recorded per trial.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    fixed: dict[str, Any] = Field(default_factory=dict)
    search_space: dict[str, ParamSpec] = Field(default_factory=dict)

    @property
    def objective_def(self) -> ObjectiveDef:
        """The family's params and metrics by name (``objective`` resolved in genstudy.families)."""
        from genstudy.families import family_def

        return family_def(self.objective)

    @property
    def family(self) -> type:
        """The family class ``objective`` names (a registered name or ``package.module:Class``)."""
        from genstudy.families import resolve_family

        return resolve_family(self.objective)

    @property
    def table_metrics(self) -> tuple[str, ...]:
        """The metrics of the results table: the study's own, then the family's summary metrics."""
        return tuple(dict.fromkeys([*self.metrics, *self.objective_def.table_metrics]))

    @property
    def needs(self) -> set[str]:
        """What the evaluation context must load for the study's metrics (e.g. ``classifier``)."""
        metrics = self.objective_def.metrics
        return {n for m in self.metrics if m in metrics for n in metrics[m].needs}

    @property
    def directions(self) -> list[str]:
        """The Optuna study directions, one per metric, in order."""
        return [self.objective_def.metrics[m].direction for m in self.metrics]

    def resolved(self) -> dict[str, Any]:
        """The spec with every default filled in, as JSON-ready data (stored in the study)."""
        return self.model_dump(mode="json")


def spec_digest(resolved: dict[str, Any]) -> str:
    """A stable sha256 of a resolved spec (key order does not matter)."""
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_spec(path: str | Path, overrides: list[str] | None = None) -> StudySpec:
    """Read and validate the spec at ``path``; every problem is a ``SpecError``.

    ``overrides`` are ``KEY=VALUE`` strings (``budget.epochs=30``, ``dataset=mnist``), the value
    read as YAML, applied before validation: the full-budget run of a small preset.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise SpecError(f"{path}: spec file not found; pass the path of a YAML spec such as studies/quickstart.yaml") from e
    except OSError as e:
        raise SpecError(f"{path}: cannot read the spec ({e.strerror}); check the path and its permissions") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: not valid YAML{where}: {problem}; fix the syntax there") from e
    for item in overrides or []:
        data = _apply_override(data, item, path)
    return parse_spec(data, source=str(path))


def _apply_override(data: Any, item: str, path: Path) -> Any:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--set {_show(item)}: expected KEY=VALUE, e.g. --set budget.epochs=30")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise SpecError(f"--set {_show(item)}: the value {_show(raw)} is not valid YAML; quote it or fix it") from None
    if not isinstance(data, dict):
        return data  # parse_spec reports the real problem
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SpecError(f"{path}: --set {_show(item)}: {_show_key(part)} is not a mapping in the spec; set a key that exists")
        node = child
    node[parts[-1]] = value
    return data


def parse_spec(data: Any, *, source: str = "<spec>") -> StudySpec:
    """Validate already-parsed spec data; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the spec must be a YAML mapping of keys (objective, dataset, ...), got {type(data).__name__}")
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(_format_validation_error(e, data, source)) from None
    problems = _semantic_problems(spec)
    if problems:
        key, value, why = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise SpecError(f"{source}: {_show_key(key)}: {_show(value)} {why}{more}")
    return spec


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 5
_REPR.maxlevel = 2


def _show(value: Any) -> str:
    """``repr(value)`` cut to a readable length: a 100 kB string or a YAML alias bomb (lists of
    lists sharing one another, billions of items once expanded) must not become the message."""
    return _REPR.repr(value)


def _show_key(key: str) -> str:
    """A dotted key as one printable line (a YAML key may hold newlines), cut short."""
    key = key if key.isprintable() else repr(key)[1:-1]
    return key if len(key) <= 80 else key[:60] + "..." + key[-10:]


_FIXES = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "union_tag_invalid": "use type: float, int or categorical",
    "union_tag_not_found": "add type: float, int or categorical",
    "literal_error": "use one of the allowed values",
}


def _key_of(loc: tuple) -> str:
    """``search_space.lr.low``, ``search_space.batch_size.choices[2]``: pydantic's loc without its
    tags (the param type tried, the union member tried, validator functions)."""
    key = ""
    for i, part in enumerate(loc):
        prev = loc[i - 1] if i else None
        if isinstance(part, str) and part.startswith("function-"):
            continue
        if i == 2 and loc[0] == "search_space" and part in ("float", "int", "categorical"):
            continue  # the discriminator's tag, not a key of the file
        if part in ("bool", "int", "float", "str") and isinstance(prev, int):
            continue  # which member of a choices union was tried
        if isinstance(part, int) and prev in ("choices", "metrics", "split"):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return _show_key(key or "(top level)")


def _format_validation_error(error: ValidationError, data: dict, source: str) -> str:
    first = error.errors()[0]
    key = _key_of(first["loc"])
    kind = first["type"]
    value = first.get("input")
    msg = first["msg"]
    if kind == "extra_forbidden":
        parent = _model_at(first["loc"][:-1])
        known = sorted(parent.model_fields) if parent is not None else []
        fix = f"unknown key; known keys here: {', '.join(known)}" if known else "unknown key; remove it"
        text = f"{source}: {key}: {fix}"
    elif kind == "missing":
        text = f"{source}: {key}: missing; add it"
    else:
        fix = _FIXES.get(kind, "fix the value")
        text = f"{source}: {key}: {_show(value)} is invalid ({msg}); {fix}"
    extra = len(error.errors()) - 1
    return text + (f" (and {extra} more problem(s))" if extra else "")


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = StudySpec
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            if str(part) in ("float", "int", "categorical"):
                model = {"float": FloatParam, "int": IntParam, "categorical": CategoricalParam}[str(part)]
                continue
            if model is StudySpec:
                return None
            continue  # a dict key such as a search-space param name
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
    return model


def _semantic_problems(spec: StudySpec) -> list[tuple[str, Any, str]]:
    """Checks across keys that pydantic cannot express: (key, value, why + fix)."""
    problems: list[tuple[str, Any, str]] = []
    from genstudy.families import FamilyError

    try:
        odef = spec.objective_def
    except FamilyError as e:  # named by a registered name: say which import path it stands for
        via = f"(registered as {e.path}) " if e.path not in (spec.objective, repr(spec.objective)) else ""
        return [("objective", spec.objective, via + e.reason)]
    from genstudy.data import DATASETS, source_problems

    if not isinstance(spec.dataset, str):
        problems.extend(source_problems(spec.dataset))  # cheap: the path exists and holds data
    elif spec.dataset not in DATASETS:
        problems.append(("dataset", spec.dataset, f"is not a known dataset; use one of {list(DATASETS)}"))
    seen: set[str] = set()
    for i, m in enumerate(spec.metrics):
        if m not in odef.metrics:
            problems.append((f"metrics[{i}]", m, f"is not a metric of objective {odef.name}; use one of {sorted(odef.metrics)}"))
        if m in seen:
            problems.append((f"metrics[{i}]", m, "is listed twice; list each metric once"))
        seen.add(m)
    if len(spec.metrics) > 1 and spec.pruner.name == "hyperband":
        problems.append(("pruner.name", spec.pruner.name,
                         "cannot prune a study with several metrics (Optuna refuses pruners in multi-objective studies; "
                         "genstudy applies the median rule itself); use median or none"))
    for name, value in spec.fixed.items():
        pdef = odef.params.get(name)
        if pdef is None:
            problems.append((f"fixed.{name}", value,
                             f"is not a param of objective {odef.name}; known params: {sorted(odef.params)}"))
        elif (why := pdef.check(value)) is not None:
            problems.append((f"fixed.{name}", value, f"{why}; {pdef.help}"))
        if name in spec.search_space:
            problems.append((f"fixed.{name}", value, "is also in search_space; keep it in one of the two"))
    for name, p in spec.search_space.items():
        problems.extend(_search_param_problems(odef, name, p, spec.sampler.name))
    return problems


def _search_param_problems(odef: ObjectiveDef, name: str, p: Any, sampler: str) -> list[tuple[str, Any, str]]:
    key = f"search_space.{name}"
    pdef = odef.params.get(name)
    if pdef is None:
        return [(key, name, f"is not a param of objective {odef.name}; known params: {sorted(odef.params)}")]
    out: list[tuple[str, Any, str]] = []
    if isinstance(p, CategoricalParam):
        for i, c in enumerate(p.choices):
            if (why := pdef.check(c)) is not None:
                out.append((f"{key}.choices[{i}]", c, f"{why}; {pdef.help}"))
        return out
    if pdef.kind in (str, bool):
        choices = list(pdef.choices or ()) if pdef.kind is str else [True, False]
        why = f"does not fit a {pdef.kind.__name__} param; use type: categorical with choices {choices}"
        return [(f"{key}.type", p.type, why)]
    if isinstance(p, FloatParam) and pdef.kind is int:
        out.append((f"{key}.type", "float", "does not fit a whole-number param; use type: int"))
    if p.low > p.high:
        out.append((f"{key}.low", p.low, f"is above high ({p.high}); swap them"))
    if p.log and p.low <= 0:
        out.append((f"{key}.low", p.low, "must be > 0 with log: true; use a positive low bound or log: false"))
    if p.log and isinstance(p, IntParam) and p.step != 1:
        out.append((f"{key}.step", p.step, "must be 1 with log: true; drop step or log"))
    if p.log and isinstance(p, FloatParam) and p.step is not None:
        out.append((f"{key}.step", p.step, "cannot be combined with log: true; drop one of them"))
    for bound in ("low", "high"):
        if (why := pdef.check(getattr(p, bound))) is not None:
            out.append((f"{key}.{bound}", getattr(p, bound), f"{why}; {pdef.help}"))
    if sampler == "grid" and isinstance(p, FloatParam) and p.step is None:
        out.append((key, "float without step", "cannot be gridded; add step, or use type: categorical with the grid values"))
    return out
