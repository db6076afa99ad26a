"""String-keyed registries, so a TOML recipe can name criteria, schedules and losses and users
can add their own without touching the spiral loop."""

from __future__ import annotations

from typing import Callable, Dict, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of callables. ``@REG.register("name")`` adds one; ``REG.get`` resolves one
    with an error that lists what exists (a typo in a recipe should say what was meant)."""

    def __init__(self, what: str):
        self.what = what
        self._items: Dict[str, T] = {}

    def register(self, name: str, item: T | None = None, *, overwrite: bool = False):
        def add(obj: T) -> T:
            key = name.strip().lower()
            if key in self._items and not overwrite:
                raise ValueError(f"{self.what} '{key}' is already registered (pass overwrite=True to replace it)")
            self._items[key] = obj
            return obj

        return add(item) if item is not None else add

    def get(self, name: str) -> T:
        key = str(name).strip().lower()
        if key not in self._items:
            raise ValueError(f"unknown {self.what} '{name}'; known: {', '.join(sorted(self._items))}")
        return self._items[key]

    def __contains__(self, name: str) -> bool:
        return str(name).strip().lower() in self._items

    def names(self) -> list[str]:
        return sorted(self._items)


CRITERIA: "Registry[Callable]" = Registry("criterion")
SCHEDULES: "Registry[Callable]" = Registry("schedule")
LOSSES: "Registry[Callable]" = Registry("distillation loss")
