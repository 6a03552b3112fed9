# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the shared dataset-layout helpers: natural order, stems, pairing, sequences."""
from pathlib import Path

import pytest
from stereo_any_video_ros.evaluation.datasets.base import DatasetError
from stereo_any_video_ros.evaluation.datasets.layout import (files_by_stem, IMAGE_SUFFIXES,
                                                             match_stems, natural_key,
                                                             require_folder, select_sequences,
                                                             sequence_folders, subfolders)

LAYOUT = '<root>/left/<frame>.png'


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b'')


def test_natural_key_compares_numbers_as_numbers():
    names = ['frame10', 'frame2', 'frame1', 'a', 'frame02', '10', '9']
    assert sorted(names, key=natural_key) == ['9', '10', 'a', 'frame1', 'frame02', 'frame2',
                                              'frame10']


def test_files_by_stem_natural_order_skips_other_files(tmp_path):
    touch(tmp_path, 'frame10.png', 'frame2.JPG', 'frame1.png', 'notes.txt', '.frame3.png')
    (tmp_path / 'frame4.png').mkdir()
    files = files_by_stem(tmp_path, IMAGE_SUFFIXES, 'left image', LAYOUT)
    assert list(files) == ['frame1', 'frame2', 'frame10']
    assert files['frame2'] == tmp_path / 'frame2.JPG'
    assert list(files_by_stem(tmp_path, ('.png',), 'left image', LAYOUT,
                              pattern='frame1*')) == ['frame1', 'frame10']


def test_files_by_stem_errors(tmp_path):
    touch(tmp_path / 'left', '000001.png', '000001.jpg')
    with pytest.raises(DatasetError, match=r"left: two left image files for frame '000001': "
                                           r'000001\.jpg and 000001\.png; keep one'):
        files_by_stem(tmp_path / 'left', IMAGE_SUFFIXES, 'left image', LAYOUT)
    with pytest.raises(DatasetError, match=r'left: no depth files \(\.npy/\.pfm\); expected '
                                           r'layout:\n<root>/left/'):
        files_by_stem(tmp_path / 'left', ('.npy', '.pfm'), 'depth', LAYOUT)
    with pytest.raises(DatasetError, match=r'right: right image folder not found; expected '
                                           r'layout:\n<root>/left/'):
        files_by_stem(tmp_path / 'right', IMAGE_SUFFIXES, 'right image', LAYOUT)


def test_match_stems_names_every_unpaired_frame(tmp_path):
    touch(tmp_path / 'seq' / 'left', *(f'{i}.png' for i in range(12)))
    touch(tmp_path / 'seq' / 'right', *(f'{i}.png' for i in range(12)))
    touch(tmp_path / 'seq' / 'disparity', *(f'{i}.npy' for i in (*range(1, 12), 12)))
    left, right, disparity = (files_by_stem(tmp_path / 'seq' / name, ('.png', '.npy'), name,
                                            LAYOUT) for name in ('left', 'right', 'disparity'))
    assert match_stems(left, right) == [str(i) for i in range(12)]
    with pytest.raises(DatasetError) as error:
        match_stems(left, right, disparity)
    assert str(error.value) == (
        f'{tmp_path / "seq"}: left/ has 12 frames, disparity/ has 12; they pair by file name '
        'stem: left/0.png has no disparity/ file; disparity/12.npy has no left/ file')
    (tmp_path / 'seq' / 'right' / '0.png').unlink()
    for i in range(5, 11):
        (tmp_path / 'seq' / 'right' / f'{i}.png').unlink()
    right = files_by_stem(tmp_path / 'seq' / 'right', ('.png',), 'right', LAYOUT)
    with pytest.raises(DatasetError, match=r'left/ has 12 frames, right/ has 5; .*: left/0\.png, '
                                           r'left/5\.png, left/6\.png, left/7\.png, left/8\.png '
                                           r'and 2 more have no right/ file$'):
        match_stems(left, right)


def test_sequence_folders_and_selection(tmp_path):
    for name in ('seq10', 'seq2', 'other'):
        (tmp_path / name / ('left' if name != 'other' else 'images')).mkdir(parents=True)
    touch(tmp_path, 'left')  # a file named left does not make the root a sequence

    def is_sequence(folder: Path) -> bool:
        return (folder / 'left').is_dir()

    found = sequence_folders(tmp_path, is_sequence, 'left/ folder', LAYOUT)
    assert found == {'seq2': tmp_path / 'seq2', 'seq10': tmp_path / 'seq10'}
    assert sequence_folders(tmp_path / 'seq2', is_sequence, 'left/ folder',
                            LAYOUT) == {'seq2': tmp_path / 'seq2'}
    with pytest.raises(DatasetError, match=r'other: no left/ folder in it or in any sub-folder; '
                                           r'expected layout:\n<root>/left/'):
        sequence_folders(tmp_path / 'other', is_sequence, 'left/ folder', LAYOUT)
    with pytest.raises(DatasetError, match=r'gone: dataset folder not found'):
        sequence_folders(tmp_path / 'gone', is_sequence, 'left/ folder', LAYOUT)
    assert list(select_sequences(found, ['seq10', 'seq2'], tmp_path)) == ['seq10', 'seq2']
    assert select_sequences(found, None, tmp_path) == found
    with pytest.raises(DatasetError, match=r"no sequence 'seq3', 'x'; available: seq2, seq10$"):
        select_sequences(found, ['seq3', 'seq2', 'x'], tmp_path)
    assert list(subfolders(tmp_path, 'dataset', LAYOUT)) == ['other', 'seq2', 'seq10']
    with pytest.raises(DatasetError, match=r'seq2/left: the left folder has no sequence '
                                           r'sub-folders'):
        subfolders(tmp_path / 'seq2' / 'left', 'left', LAYOUT)
    assert require_folder(tmp_path, 'dataset', LAYOUT) == tmp_path
