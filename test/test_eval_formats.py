# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""File formats of the evaluation datasets: exact round trips, hand-made files, bad files."""
import cv2
import numpy as np
from PIL import Image
import pytest
from stereo_any_video_ros.evaluation.datasets.base import DatasetError
from stereo_any_video_ros.evaluation.datasets.formats import (
    MiddleburyCalibration, read_depth, read_disparity, read_float16_png, read_image,
    read_kitti_calib, read_mask, read_middlebury_calib, read_pfm, read_png16,
    read_sintel_camera, read_sintel_depth, read_sintel_disparity, read_size, write_float16_png,
    write_middlebury_calib, write_pfm, write_png16, write_sintel_camera, write_sintel_depth,
    write_sintel_disparity)

# Middlebury 2014 Adirondack's calib.txt.
ADIRONDACK = """cam0=[4161.221 0 1445.577; 0 4161.221 984.686; 0 0 1]
cam1=[4161.221 0 1654.636; 0 4161.221 984.686; 0 0 1]
doffs=209.059
baseline=176.252
width=2880
height=1988
ndisp=280
isint=0
vmin=33
vmax=218
dyavg=0.191
dymax=0.413
"""


# --- colour images ---------------------------------------------------------------------------


def test_read_image_rgb_rgba_gray_and_palette(tmp_path):
    rgb = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    Image.fromarray(rgb).save(tmp_path / 'rgb.png')
    np.testing.assert_array_equal(read_image(tmp_path / 'rgb.png'), rgb)
    rgba = np.dstack([rgb, np.full((6, 8), 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'rgba.png')
    np.testing.assert_array_equal(read_image(tmp_path / 'rgba.png'), rgb)
    gray = rgb[:, :, 0]
    Image.fromarray(gray).save(tmp_path / 'gray.png')
    out = read_image(tmp_path / 'gray.png')
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.dstack([gray] * 3))
    Image.fromarray(rgb).convert('P').save(tmp_path / 'palette.png')
    assert read_image(tmp_path / 'palette.png').shape == (6, 8, 3)


def test_read_image_refuses_16_bit_missing_and_garbage(tmp_path):
    cv2.imwrite(str(tmp_path / 'deep.png'), np.full((6, 8), 1000, np.uint16))
    with pytest.raises(DatasetError, match=r'deep\.png.*16-bit'):
        read_image(tmp_path / 'deep.png')
    with pytest.raises(DatasetError, match=r'none\.png: image file not found'):
        read_image(tmp_path / 'none.png')
    (tmp_path / 'text.png').write_text('not an image')
    with pytest.raises(DatasetError, match=r'text\.png: cannot read the image'):
        read_image(tmp_path / 'text.png')


# --- PFM -------------------------------------------------------------------------------------


def test_pfm_round_trip_is_exact(tmp_path):
    values = np.array([[0.5, -1.25, np.inf], [1e-7, 3.0e6, np.nan]], np.float32)
    write_pfm(tmp_path / 'a.pfm', values)
    out = read_pfm(tmp_path / 'a.pfm')
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, values)


def test_pfm_hand_made_big_endian_rows_bottom_up(tmp_path):
    # 2 columns x 2 rows, positive scale = big-endian, last stored row is the top row.
    payload = np.array([[3.0, 4.0], [1.0, 2.0]], '>f4').tobytes()
    (tmp_path / 'be.pfm').write_bytes(b'Pf\n2 2\n1.0\n' + payload)
    np.testing.assert_array_equal(read_pfm(tmp_path / 'be.pfm'), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize('content, message', [
    (b'PF\n1 1\n-1.0\n' + bytes(12), r'3-channel PFM'),
    (b'P6\n1 1\n255\n' + bytes(3), r'not a PFM file'),
    (b'Pf\n1 x\n-1.0\n' + bytes(4), r'malformed PFM size line'),
    (b'Pf\n1 1\nabc\n' + bytes(4), r'malformed PFM scale line'),
    (b'Pf\n2 3\n-1.0\n' + bytes(20),
     r'PFM header says 2x3 \(24 bytes of float32\) but the file has 20'),
    (b'Pf\n2 3', r'truncated PFM header'),
])
def test_pfm_malformed_files_are_refused(tmp_path, content, message):
    (tmp_path / 'bad.pfm').write_bytes(content)
    with pytest.raises(DatasetError, match=r'bad\.pfm: ' + message):
        read_pfm(tmp_path / 'bad.pfm')


# --- MPI-Sintel ------------------------------------------------------------------------------


def test_sintel_disparity_decodes_the_rgb_formula(tmp_path):
    # R=2, G=128, B=64 -> 2*4 + 128/64 + 64/16384 = 10.00390625 px; all-zero pixel -> no GT.
    bgr = np.zeros((1, 2, 3), np.uint8)
    bgr[0, 0] = (64, 128, 2)
    cv2.imwrite(str(tmp_path / 'd.png'), bgr)
    out = read_sintel_disparity(tmp_path / 'd.png')
    assert out.dtype == np.float32
    assert out[0, 0] == np.float32(10.00390625) and np.isnan(out[0, 1])


def test_sintel_disparity_round_trip(tmp_path):
    values = np.array([[0.5, 1023.0 + 16383 / 16384, np.nan], [3.25, 17.0625, 1 / 16384]],
                      np.float32)
    write_sintel_disparity(tmp_path / 'd.png', values)
    np.testing.assert_array_equal(read_sintel_disparity(tmp_path / 'd.png'), values)
    with pytest.raises(ValueError, match=r'\[0, 1024\)'):
        write_sintel_disparity(tmp_path / 'e.png', np.array([[1024.0]]))


def test_sintel_disparity_refuses_one_channel_png(tmp_path):
    cv2.imwrite(str(tmp_path / 'g.png'), np.zeros((2, 2), np.uint8))
    with pytest.raises(DatasetError, match=r'g\.png: Sintel disparity must be an 8-bit RGB PNG,'
                                           r' got 1-channel 8-bit'):
        read_sintel_disparity(tmp_path / 'g.png')


def test_sintel_depth_round_trip_and_bad_headers(tmp_path):
    depth = np.array([[1.5, 2.25, 100.0], [0.0, 7.0, 1e-3]], np.float32)
    write_sintel_depth(tmp_path / 'a.dpt', depth)
    raw = (tmp_path / 'a.dpt').read_bytes()
    assert len(raw) == 12 + 6 * 4
    np.testing.assert_array_equal(read_sintel_depth(tmp_path / 'a.dpt'), depth)
    assert read_size(tmp_path / 'a.dpt') == (3, 2)
    (tmp_path / 'tag.dpt').write_bytes(np.float32(1.0).tobytes() + raw[4:])
    with pytest.raises(DatasetError, match=r'tag\.dpt: wrong \.dpt tag'):
        read_sintel_depth(tmp_path / 'tag.dpt')
    (tmp_path / 'short.dpt').write_bytes(raw[:-4])
    with pytest.raises(DatasetError, match=r'header says 3x2 \(24 bytes.*has 20 bytes'):
        read_sintel_depth(tmp_path / 'short.dpt')
    (tmp_path / 'huge.dpt').write_bytes(raw[:4] + np.array([-1, 2], '<i4').tobytes())
    with pytest.raises(DatasetError, match=r'size -1x2, which is not a plausible'):
        read_sintel_depth(tmp_path / 'huge.dpt')


def test_sintel_camera_round_trip(tmp_path):
    k = np.array([[1120.0, 0, 511.5], [0, 1120.0, 217.5], [0, 0, 1]])
    rt = np.arange(12, dtype=np.float64).reshape(3, 4)
    write_sintel_camera(tmp_path / 'f.cam', k, rt)
    k_out, rt_out = read_sintel_camera(tmp_path / 'f.cam')
    np.testing.assert_array_equal(k_out, k)
    np.testing.assert_array_equal(rt_out, rt)
    (tmp_path / 'bad.cam').write_bytes(bytes(4 + 8 * 21))
    with pytest.raises(DatasetError, match=r'bad\.cam: wrong \.cam tag'):
        read_sintel_camera(tmp_path / 'bad.cam')


# --- 16-bit PNG ------------------------------------------------------------------------------


def test_png16_stored_values_divided_by_scale_zero_is_nan(tmp_path):
    cv2.imwrite(str(tmp_path / 'k.png'), np.array([[0, 256, 65535], [1, 5000, 384]], np.uint16))
    out = read_png16(tmp_path / 'k.png', 256.0)
    assert out.dtype == np.float32 and np.isnan(out[0, 0])
    np.testing.assert_array_equal(out[0, 1:], [1.0, 65535 / 256])
    np.testing.assert_array_equal(out[1], [1 / 256, 5000 / 256, 1.5])
    assert read_png16(tmp_path / 'k.png', 5000.0)[1, 1] == 1.0


def test_png16_round_trip_and_refusals(tmp_path):
    values = np.array([[1.5, np.nan], [0.25, 255.99609375]], np.float32)
    write_png16(tmp_path / 'r.png', values, 256.0)
    np.testing.assert_array_equal(read_png16(tmp_path / 'r.png', 256.0), values)
    with pytest.raises(ValueError, match=r'NaN or in \[0.00390625, 255.996\]'):
        write_png16(tmp_path / 'o.png', np.array([[256.0]]), 256.0)
    with pytest.raises(ValueError, match='write_png16'):
        write_png16(tmp_path / 'z.png', np.array([[0.001]]), 256.0)  # would read back missing
    cv2.imwrite(str(tmp_path / 'eight.png'), np.zeros((2, 2), np.uint8))
    with pytest.raises(DatasetError, match=r'eight\.png: expected a 1-channel 16-bit PNG .*got '
                                           r'1-channel 8-bit'):
        read_png16(tmp_path / 'eight.png', 256.0)
    cv2.imwrite(str(tmp_path / 'rgb.png'), np.zeros((2, 2, 3), np.uint16))
    with pytest.raises(DatasetError, match=r'got 3-channel 16-bit'):
        read_png16(tmp_path / 'rgb.png', 256.0)
    (tmp_path / 'junk.png').write_bytes(b'junk')
    with pytest.raises(DatasetError, match=r'junk\.png: cannot decode'):
        read_png16(tmp_path / 'junk.png', 256.0)


def test_float16_png_round_trip(tmp_path):
    values = np.array([[0.5, 3.140625], [65504.0, 0.0]], np.float32)
    write_float16_png(tmp_path / 'h.png', values)
    assert cv2.imread(str(tmp_path / 'h.png'), cv2.IMREAD_UNCHANGED)[0, 0] == 0x3800  # 0.5
    np.testing.assert_array_equal(read_float16_png(tmp_path / 'h.png'), values)


def test_read_mask_wants_one_8_bit_channel(tmp_path):
    cv2.imwrite(str(tmp_path / 'm.png'), np.array([[0, 128, 255]], np.uint8))
    np.testing.assert_array_equal(read_mask(tmp_path / 'm.png'), [[0, 128, 255]])
    cv2.imwrite(str(tmp_path / 'c.png'), np.zeros((1, 3, 3), np.uint8))
    with pytest.raises(DatasetError, match=r'c\.png: expected a 1-channel 8-bit PNG mask'):
        read_mask(tmp_path / 'c.png')


# --- Middlebury calib.txt --------------------------------------------------------------------


def test_middlebury_calib_parses_every_field(tmp_path):
    (tmp_path / 'calib.txt').write_text(ADIRONDACK)
    calib = read_middlebury_calib(tmp_path / 'calib.txt')
    np.testing.assert_array_equal(calib.cam0, [[4161.221, 0, 1445.577], [0, 4161.221, 984.686],
                                               [0, 0, 1]])
    assert calib.cam1[0, 2] == 1654.636
    assert (calib.doffs, calib.baseline, calib.width, calib.height) == (209.059, 176.252, 2880,
                                                                        1988)
    assert (calib.ndisp, calib.isint, calib.vmin, calib.vmax) == (280, 0, 33, 218)
    assert (calib.dyavg, calib.dymax) == (0.191, 0.413)


def test_middlebury_stereo_calibration_has_cx_offset_minus_doffs(tmp_path):
    (tmp_path / 'calib.txt').write_text(ADIRONDACK)
    pair = read_middlebury_calib(tmp_path / 'calib.txt').stereo_calibration()
    assert pair.fx == 4161.221
    assert pair.baseline == pytest.approx(0.176252, abs=1e-12)
    assert pair.cx_offset == pytest.approx(-209.059, abs=1e-9)
    assert (pair.width, pair.height) == (2880, 1988)


def test_middlebury_calib_round_trip_without_optional_keys(tmp_path):
    calib = MiddleburyCalibration(cam0=np.array([[100.0, 0, 4], [0, 100, 3], [0, 0, 1]]),
                                  cam1=np.array([[100.0, 0, 6.5], [0, 100, 3], [0, 0, 1]]),
                                  doffs=2.5, baseline=50.0, width=8, height=6)
    write_middlebury_calib(tmp_path / 'calib.txt', calib)
    assert 'ndisp' not in (tmp_path / 'calib.txt').read_text()
    out = read_middlebury_calib(tmp_path / 'calib.txt')
    np.testing.assert_array_equal(out.cam1, calib.cam1)
    assert (out.doffs, out.baseline, out.width, out.ndisp) == (2.5, 50.0, 8, None)


@pytest.mark.parametrize('edit, message', [
    (lambda t: t.replace('baseline=176.252\n', ''), r'missing baseline; a Middlebury'),
    (lambda t: t.replace('doffs=209.059', 'doffs=200'), r'doffs=200.0 but cam1 cx - cam0 cx'),
    (lambda t: t.replace('; 0 0 1]\ncam1', ']\ncam1'), r'cam0=.*expected a 3x3 matrix'),
    (lambda t: t.replace('width=2880', 'width=28.5'), r"width='28.5' must be an integer"),
    (lambda t: t.replace('vmin=33', 'vmin'), r'calib\.txt:9: expected key=value'),
    (lambda t: t.replace('cam1=[4161.221', 'cam1=[4000'), r'rectified fx differs'),
])
def test_middlebury_calib_malformed(tmp_path, edit, message):
    (tmp_path / 'calib.txt').write_text(edit(ADIRONDACK))
    with pytest.raises(DatasetError, match=message):
        read_middlebury_calib(tmp_path / 'calib.txt').stereo_calibration()


def test_kitti_calib_reads_numbers_and_skips_dates(tmp_path):
    (tmp_path / 'c.txt').write_text('calib_time: 09-Jan-2012 13:57:47\n'
                                    'T_02: 5.9e-02 -3.6e-04 2.5e-03\nno colon here\n')
    entries = read_kitti_calib(tmp_path / 'c.txt')
    assert list(entries) == ['T_02']
    np.testing.assert_array_equal(entries['T_02'], [5.9e-02, -3.6e-04, 2.5e-03])


# --- dispatch by suffix ----------------------------------------------------------------------


def test_read_disparity_by_suffix_marks_missing_as_nan(tmp_path):
    write_pfm(tmp_path / 'd.pfm', np.array([[1.5, np.inf], [-np.inf, 0.0]], np.float32))
    np.testing.assert_array_equal(read_disparity(tmp_path / 'd.pfm'), [[1.5, np.nan],
                                                                       [np.nan, 0.0]])
    write_png16(tmp_path / 'd.png', np.array([[2.5, np.nan]]), 256.0)
    np.testing.assert_array_equal(read_disparity(tmp_path / 'd.png'), [[2.5, np.nan]])
    np.save(tmp_path / 'd.npy', np.array([[4.0, np.nan]], np.float64))
    out = read_disparity(tmp_path / 'd.npy')
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[4.0, np.nan]])
    (tmp_path / 'd.flo').write_bytes(b'')
    with pytest.raises(DatasetError, match=r"unknown disparity format '\.flo'"):
        read_disparity(tmp_path / 'd.flo')
    np.save(tmp_path / 'cube.npy', np.zeros((2, 2, 2)))
    with pytest.raises(DatasetError, match=r'expected a 2-D numeric array, got shape'):
        read_disparity(tmp_path / 'cube.npy')


def test_read_depth_by_suffix(tmp_path):
    write_png16(tmp_path / 'd.png', np.array([[1.0, np.nan, 0.5]]), 5000.0)
    np.testing.assert_array_equal(read_depth(tmp_path / 'd.png', 5000.0), [[1.0, np.nan, 0.5]])
    with pytest.raises(DatasetError, match=r'needs its scale'):
        read_depth(tmp_path / 'd.png')
    np.save(tmp_path / 'd.npy', np.array([[2.0, 0.0, -1.0, np.inf]], np.float32))
    np.testing.assert_array_equal(read_depth(tmp_path / 'd.npy'), [[2.0] + [np.nan] * 3])
    write_sintel_depth(tmp_path / 'd.dpt', np.array([[3.5, 0.0]], np.float32))
    np.testing.assert_array_equal(read_depth(tmp_path / 'd.dpt'), [[3.5, np.nan]])
    write_pfm(tmp_path / 'd.pfm', np.array([[7.0]], np.float32))
    np.testing.assert_array_equal(read_depth(tmp_path / 'd.pfm'), [[7.0]])
    with pytest.raises(DatasetError, match=r'OpenEXR depth is not supported'):
        read_depth(tmp_path / 'd.exr')


def test_read_size_from_headers(tmp_path):
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / 'i.png')
    write_pfm(tmp_path / 'p.pfm', np.zeros((6, 8), np.float32))
    np.save(tmp_path / 'n.npy', np.zeros((6, 8), np.float32))
    for name in ('i.png', 'p.pfm', 'n.npy'):
        assert read_size(tmp_path / name) == (8, 6)
    with pytest.raises(DatasetError, match=r'x\.png: file not found'):
        read_size(tmp_path / 'x.png')
