# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Finding a dataset's folders and frame files, shared by every folder-based reader.

The stereo and the depth readers check a download the same way: folders that must exist,
frame files listed by name stem, files of one frame paired across folders by that stem, and
sequences found in a root or its sub-folders and picked by name. Doing it here once gives every
reader the same rules and the same error messages, each naming the folder or file at fault
and, where a layout is given, printing it.

Frames and sequences are ordered by NATURAL order of their names: digit runs compare as
numbers, so 'frame2' comes before 'frame10' whether or not the numbers are zero-padded (for
zero-padded names this is the plain sorted order).
"""
from __future__ import annotations

import os
from pathlib import Path
import re
from typing import (Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar,
                    Union)

from stereo_any_video_ros.evaluation.datasets.base import DatasetError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')

T = TypeVar('T')


def natural_key(name: str) -> Tuple[Tuple[Union[int, str], ...], str]:
    """Sort key that puts 'frame2' before 'frame10': digit runs compare as numbers.

    The name itself breaks ties ('01' before '1'), so the order is total.
    """
    # re.split with a group alternates text and digit runs, so equal positions hold equal types.
    parts = tuple(int(part) if index % 2 else part
                  for index, part in enumerate(re.split(r'(\d+)', name)))
    return parts, name


def require_folder(path: Path, what: str, layout: str) -> Path:
    """``path`` if it is a folder, else a ``DatasetError`` naming it and printing ``layout``."""
    if not path.is_dir():
        raise DatasetError(f'{path}: {what} folder not found; expected layout:\n{layout}')
    return path


def subfolders(root: Path, what: str, layout: str) -> Dict[str, Path]:
    """{name: folder} of the sub-folders of the ``what`` folder ``root`` (one a sequence), in
    natural order; at least one."""
    found = {path.name: path for path in require_folder(root, what, layout).iterdir()
             if path.is_dir()}
    if not found:
        raise DatasetError(f'{root}: the {what} folder has no sequence sub-folders; expected '
                           f'layout:\n{layout}')
    return _natural_order(found)


def sequence_folders(root: Path, is_sequence: Callable[[Path], bool], what: str,
                     layout: str) -> Dict[str, Path]:
    """{name: folder}: ``root`` alone when it is a sequence, else its sub-folders that are.

    ``what`` names what makes a folder a sequence (e.g. 'left/ folder'), for the error when
    neither ``root`` nor any sub-folder has it. Sub-folders come in natural order.
    """
    require_folder(root, 'dataset', layout)
    if is_sequence(root):
        return {root.name: root}
    found = {path.name: path for path in root.iterdir() if path.is_dir() and is_sequence(path)}
    if not found:
        raise DatasetError(f'{root}: no {what} in it or in any sub-folder; expected '
                           f'layout:\n{layout}')
    return _natural_order(found)


def select_sequences(found: Mapping[str, T], wanted: Optional[Sequence[str]], where: Path
                     ) -> Dict[str, T]:
    """The ``wanted`` entries of ``found`` in the order asked for, or all when None."""
    if wanted is None:
        return dict(found)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise DatasetError(f'{where}: no sequence {", ".join(map(repr, unknown))}; available: '
                           f'{", ".join(sorted(found, key=natural_key))}')
    return {name: found[name] for name in wanted}


def files_by_stem(folder: Path, suffixes: Iterable[str], what: str, layout: str,
                  pattern: str = '*') -> Dict[str, Path]:
    """{name stem: file} of the files in ``folder`` matching ``pattern`` with one of
    ``suffixes`` (any case), in natural order of the stems; at least one.

    Hidden files are skipped. Two files with one stem ('0.png', '0.jpg') are an error: the
    stem is what pairs a frame's files across folders.
    """
    suffixes = tuple(suffixes)
    files: Dict[str, Path] = {}
    for path in sorted(require_folder(folder, what, layout).glob(pattern)):
        if (path.name.startswith('.') or path.suffix.lower() not in suffixes
                or not path.is_file()):
            continue
        if path.stem in files:
            raise DatasetError(f'{folder}: two {what} files for frame {path.stem!r}: '
                               f'{files[path.stem].name} and {path.name}; keep one')
        files[path.stem] = path
    if not files:
        raise DatasetError(f'{folder}: no {what} files ({"/".join(suffixes)}); expected '
                           f'layout:\n{layout}')
    return _natural_order(files)


def match_stems(reference: Mapping[str, Path], *others: Mapping[str, Path]) -> List[str]:
    """The stems of ``reference`` after checking every one of ``others`` has the same stems.

    Each mapping is one folder's ``files_by_stem`` (so not empty). The error names the
    folders and the files that have no partner, relative to the folders' common parent.
    """
    reference_folder = _folder_of(reference)
    for files in others:
        missing = [stem for stem in reference if stem not in files]
        extra = [stem for stem in files if stem not in reference]
        if missing or extra:
            folder = _folder_of(files)
            common = Path(os.path.commonpath([reference_folder, folder]))
            ours = f'{reference_folder.relative_to(common).as_posix()}/'
            theirs = f'{folder.relative_to(common).as_posix()}/'
            unpaired = [_no_partner([ours + reference[stem].name for stem in missing], theirs),
                        _no_partner([theirs + files[stem].name for stem in extra], ours)]
            raise DatasetError(
                f'{common}: {ours} has {len(reference)} frames, {theirs} has {len(files)}; '
                f'they pair by file name stem: {"; ".join(text for text in unpaired if text)}')
    return list(reference)


def _natural_order(entries: Mapping[str, T]) -> Dict[str, T]:
    return {name: entries[name] for name in sorted(entries, key=natural_key)}


def _folder_of(files: Mapping[str, Path]) -> Path:
    return next(iter(files.values())).parent


def _no_partner(names: Sequence[str], partner: str) -> str:
    """'a/1.png has no b/ file', 'a/1.png, a/2.png have no b/ file' or '' for no names."""
    if not names:
        return ''
    limit = 5
    shown = ', '.join(names[:limit])
    if len(names) > limit:
        shown += f' and {len(names) - limit} more'
    return f'{shown} {"has" if len(names) == 1 else "have"} no {partner} file'


__all__ = ['files_by_stem', 'IMAGE_SUFFIXES', 'match_stems', 'natural_key', 'require_folder',
           'select_sequences', 'sequence_folders', 'subfolders']
