"""Edits of a definition tree, addressed by paths of indexes.

A path is a tuple of indexes into ``conditions`` from the root group: ``()`` is
the root, ``(1, 0)`` the first item of the group at index 1. Every function
returns a new tree, because Group and Condition are frozen.
"""

from __future__ import annotations

from dataclasses import replace

from logsteer_tui.services.segments.definition import Condition, Group, Match

Path = tuple[int, ...]


def item_at(root: Group, path: Path) -> Condition | Group:
    item: Condition | Group = root
    for index in path:
        if not isinstance(item, Group):
            raise IndexError(f"path {path} goes through a condition")
        item = item.conditions[index]
    return item


def group_path_of(root: Group, path: Path) -> Path:
    """Return ``path`` if it names a group, else the path of its parent group."""
    return path if isinstance(item_at(root, path), Group) else path[:-1]


def replace_at(root: Group, path: Path, new: Condition | Group) -> Group:
    if not path:
        if not isinstance(new, Group):
            raise ValueError("the root of a definition must be a group")
        return new
    parent_path, index = path[:-1], path[-1]
    parent = item_at(root, parent_path)
    assert isinstance(parent, Group)
    items = list(parent.conditions)
    items[index] = new
    return replace_at(root, parent_path, replace(parent, conditions=tuple(items)))


def append_to(
    root: Group, group_path: Path, new: Condition | Group
) -> tuple[Group, Path]:
    """Append ``new`` to the group at ``group_path``; return the tree and its path."""
    group = item_at(root, group_path)
    assert isinstance(group, Group)
    updated = replace(group, conditions=(*group.conditions, new))
    return replace_at(root, group_path, updated), (*group_path, len(group.conditions))


def remove_at(root: Group, path: Path) -> Group:
    if not path:
        return Group(root.match)
    parent_path, index = path[:-1], path[-1]
    parent = item_at(root, parent_path)
    assert isinstance(parent, Group)
    items = parent.conditions[:index] + parent.conditions[index + 1 :]
    return replace_at(root, parent_path, replace(parent, conditions=items))


def move_by(root: Group, path: Path, offset: int) -> tuple[Group, Path]:
    """Move the item at ``path`` by ``offset`` places within its group.

    The move stops at either end of the group; returns the tree and the new path.
    """
    if not path:
        return root, path
    parent_path, index = path[:-1], path[-1]
    parent = item_at(root, parent_path)
    assert isinstance(parent, Group)
    target = max(0, min(len(parent.conditions) - 1, index + offset))
    items = list(parent.conditions)
    items.insert(target, items.pop(index))
    updated = replace(parent, conditions=tuple(items))
    return replace_at(root, parent_path, updated), (*parent_path, target)


def toggle_match(root: Group, group_path: Path) -> Group:
    group = item_at(root, group_path)
    assert isinstance(group, Group)
    match: Match = "or" if group.match == "and" else "and"
    return replace_at(root, group_path, replace(group, match=match))
