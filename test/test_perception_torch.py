"""Torch and ONNX ReID embedders, OSNet checkpoints and the batched crop samplers."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deepsort_ros.perception import build_embedder  # noqa: E402
from deepsort_ros.perception.crops import CropSampler, crop_batch_roi_align  # noqa: E402
from deepsort_ros.perception.export_onnx import main as export_main  # noqa: E402
from deepsort_ros.perception.onnx_embedder import OnnxEmbedder, export_onnx  # noqa: E402
from deepsort_ros.perception.osnet import build_osnet  # noqa: E402
from deepsort_ros.perception.torch_embedder import TorchEmbedder  # noqa: E402
from deepsort_ros.tools.synthetic_scene import SyntheticScene  # noqa: E402

SMALL = dict(input_height=64, input_width=32, device="cpu")


@pytest.fixture(scope="module")
def scene():
    bgr, boxes, _ = SyntheticScene(people=5, seed=7).frame(4)
    # Add a box hanging over the border and a tiny one.
    boxes = np.vstack([boxes, [[-20, 300, 30, 420], [200, 200, 203, 206]]]).astype(np.float32)
    return bgr, boxes


@pytest.fixture(scope="module")
def smooth_frame():
    """A 640x480 BGR frame of smooth waves (at most 8 grey levels per pixel), a different phase per channel.

    Sampler accuracy is checked on it: OpenCV 4.x remaps at 1/32-pixel positions, so on the sharp edges of
    the synthetic scene its crops differ from exact sampling by up to 0.04 (one edge step x 1/64 pixel),
    while here that stays below 0.004 and a quarter-pixel misplacement of the sample points shows as 0.04.
    """
    y, x = np.mgrid[0:480, 0:640].astype(np.float64)
    waves = 128 + 60 * np.sin(2 * np.pi * (x[..., None] / 48 + y[..., None] / 64) + np.array([0.0, 2.1, 4.2]))
    return np.round(waves).astype(np.uint8)


@pytest.fixture(scope="module")
def osnet_embedder():
    torch.manual_seed(0)
    return TorchEmbedder("osnet_x0_25", random_init=True, **SMALL)


def _trained_like(network):
    """Give batch-norm statistics non-trivial values, as a trained checkpoint has."""
    generator = torch.Generator().manual_seed(1)
    for module in network.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
            module.running_mean.copy_(torch.rand(module.running_mean.shape, generator=generator) * 0.2)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
    return network.eval()


@pytest.mark.parametrize("crop", ["remap", "roi_align"])
def test_shapes_normalisation_and_batching(osnet_embedder, scene, crop):
    bgr, boxes = scene
    osnet_embedder.crop = crop
    try:
        features = osnet_embedder.embed(bgr, boxes)
        alone = np.concatenate([osnet_embedder.embed(bgr, boxes[i:i + 1]) for i in range(len(boxes))])
    finally:
        osnet_embedder.crop = "remap"
    assert features.shape == (len(boxes), 512) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(features, alone, atol=1e-5)
    assert osnet_embedder.embed(bgr, np.zeros((0, 4))).shape == (0, 512)


def test_crop_samplers_agree_on_boxes_inside_the_frame(scene, smooth_frame):
    bgr, inside = smooth_frame, scene[1][:5]
    sampler = CropSampler(64, 32)
    remapped = torch.from_numpy(sampler(bgr, inside).copy()).permute(0, 3, 1, 2)
    frame = torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1).float()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    aligned = crop_batch_roi_align(frame, torch.from_numpy(inside), 64, 32, mean, std)
    # Within the remap sampler's uint8 rounding (0.5 / 255 / 0.224 = 0.0087) and OpenCV 4.x's 1/32-pixel
    # positions (see smooth_frame).
    assert (remapped - aligned).abs().max() < 0.015


def _bilinear_reference(bgr, boxes, height, width):
    """Crops by the definition: normalise in float64, sample pixel centres, replicate the border."""
    rgb = bgr[:, :, ::-1].astype(np.float64) / 255
    normalised = (rgb - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    frame_h, frame_w = bgr.shape[:2]
    crops = []
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64):
        # Replicating the border is the same as clamping the sample point into the frame.
        ys = np.clip(y1 + (y2 - y1) * (np.arange(height) + 0.5) / height - 0.5, 0, frame_h - 1)
        xs = np.clip(x1 + (x2 - x1) * (np.arange(width) + 0.5) / width - 0.5, 0, frame_w - 1)
        y0 = np.minimum(np.floor(ys).astype(int), frame_h - 2)
        x0 = np.minimum(np.floor(xs).astype(int), frame_w - 2)
        fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
        top = (1 - fx) * normalised[y0][:, x0] + fx * normalised[y0][:, x0 + 1]
        bottom = (1 - fx) * normalised[y0 + 1][:, x0] + fx * normalised[y0 + 1][:, x0 + 1]
        crops.append((1 - fy) * top + fy * bottom)
    return np.stack(crops)


def test_crop_sampler_matches_bilinear_sampling_in_both_layouts(scene, smooth_frame):
    bgr = smooth_frame
    # The scene's boxes (one hanging over the border, one tiny) and one wholly outside the frame, whose crop
    # repeats the frame's corner pixel.
    boxes = np.vstack([scene[1], [[700, -50, 760, 40]]]).astype(np.float32)
    expected = _bilinear_reference(bgr, boxes, 64, 32)
    nhwc = CropSampler(64, 32)(bgr, boxes)
    nchw = CropSampler(64, 32, layout="nchw")(bgr, boxes)
    assert nhwc.shape == (len(boxes), 64, 32, 3) and nchw.shape == (len(boxes), 3, 64, 32)
    # uint8 rounding (0.0087) plus OpenCV 4.x's 1/32-pixel positions (see smooth_frame).
    np.testing.assert_allclose(nhwc, expected, atol=0.015)
    shifted = _bilinear_reference(bgr, boxes + np.float32([0.25, 0, 0.25, 0]), 64, 32)
    assert np.abs(nhwc - shifted).max() > 0.03
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))
    assert CropSampler(64, 32, layout="nchw")(bgr, np.zeros((0, 4))).shape == (0, 3, 64, 32)
    with pytest.raises(ValueError, match="layout"):
        CropSampler(64, 32, layout="chw")


def test_a_crop_does_not_depend_on_the_other_boxes_of_its_batch(scene):
    bgr, boxes = scene
    sampler = CropSampler(64, 32)
    batch = sampler(bgr, boxes).copy()
    # The normalised frame region shrinks to one box at a time, and the buffers shrink and regrow.
    alone = np.stack([sampler(bgr, boxes[i:i + 1])[0].copy() for i in range(len(boxes))])
    np.testing.assert_array_equal(alone, batch)
    np.testing.assert_array_equal(sampler(bgr, boxes), batch)


def test_crop_sampler_stretches_a_box_onto_the_crop():
    bgr = np.zeros((100, 100, 3), np.uint8)
    bgr[20:60, 10:30] = (0, 0, 255)  # red box, BGR
    crops = CropSampler(8, 4, mean=(0, 0, 0), std=(1, 1, 1))(bgr, np.array([[10, 20, 30, 60]], np.float32))
    np.testing.assert_allclose(crops[0, ..., 0], 1.0, atol=1e-6)   # red channel first (RGB)
    np.testing.assert_allclose(crops[0, ..., 1:], 0.0, atol=1e-6)


def test_random_weights_only_when_requested():
    with pytest.raises(ValueError, match="needs a weights file.*random_init"):
        TorchEmbedder("osnet_x0_25", **SMALL)
    with pytest.raises(ValueError, match="missing.pth not found"):
        TorchEmbedder("osnet_x0_25", weights="/nonexistent/missing.pth", **SMALL)
    with pytest.raises(ValueError, match="neither an architecture"):
        build_embedder({"backend": "torch", "model": "/nonexistent/reid.pt", "device": "cpu"})


def test_osnet_loads_torchreid_checkpoint_it_saved(tmp_path, scene):
    network = _trained_like(build_osnet("osnet_x0_25"))
    # torchreid layout: DataParallel prefix, identity classifier, training metadata.
    state = {f"module.{key}": value for key, value in network.state_dict().items()}
    state["module.classifier.weight"] = torch.randn(751, 512)
    state["module.classifier.bias"] = torch.zeros(751)
    path = tmp_path / "osnet_x0_25_market1501.pth"
    torch.save({"state_dict": state, "epoch": 150}, path)

    batch = torch.randn(3, 3, 64, 32)
    with torch.inference_mode():
        expected = torch.nn.functional.normalize(network(batch), dim=1).numpy()
    by_name = TorchEmbedder(str(path), **SMALL)
    by_arch = TorchEmbedder("osnet_x0_25", weights=str(path), **SMALL)
    assert by_name.description.startswith("osnet_x0_25")
    np.testing.assert_allclose(by_name.forward(batch), expected, atol=1e-5)
    np.testing.assert_allclose(by_arch.forward(batch), expected, atol=1e-5)

    other = tmp_path / "osnet_x1_0_market1501.pth"
    torch.save(network.state_dict(), other)
    with pytest.raises(ValueError, match="does not fit osnet_x1_0"):
        TorchEmbedder(str(other), **SMALL)
    anonymous = tmp_path / "reid_weights.pth"
    torch.save(network.state_dict(), anonymous)
    with pytest.raises(ValueError, match="set 'arch'"):
        TorchEmbedder(str(anonymous), **SMALL)
    assert TorchEmbedder(str(anonymous), arch="osnet_x0_25", **SMALL).dim == 512


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning")
def test_torchvision_weights_and_torchscript(tmp_path, scene):
    import torchvision

    bgr, boxes = scene
    full = _trained_like(torchvision.models.resnet18(weights=None))
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(full.state_dict(), path)  # torchvision layout, classification head included
    resnet = TorchEmbedder(str(path), **SMALL)
    assert resnet.dim == 512
    full.fc = torch.nn.Identity()
    batch = torch.randn(2, 3, 64, 32)
    with torch.inference_mode():
        expected = torch.nn.functional.normalize(full(batch), dim=1).numpy()
    np.testing.assert_allclose(resnet.forward(batch), expected, atol=1e-5)

    scripted_path = tmp_path / "reid.torchscript"
    torch.jit.trace(full, batch).save(str(scripted_path))
    scripted = TorchEmbedder(str(scripted_path), **SMALL)
    assert scripted.description.startswith("TorchScript")
    # The traced graph keeps its batch norms, the eager one has them folded: float rounding differs.
    np.testing.assert_allclose(scripted.embed(bgr, boxes), resnet.embed(bgr, boxes), atol=1e-4)


def test_onnx_export_matches_torch(tmp_path, osnet_embedder, scene):
    pytest.importorskip("onnxruntime")
    bgr, boxes = scene
    path = export_onnx(osnet_embedder, tmp_path / "osnet.onnx")
    onnx_embedder = OnnxEmbedder(str(path), device="cpu")
    assert (onnx_embedder.height, onnx_embedder.width, onnx_embedder.dim) == (64, 32, 512)
    batch = torch.randn(4, 3, 64, 32)
    np.testing.assert_allclose(onnx_embedder.forward(batch.numpy()), osnet_embedder.forward(batch), atol=1e-4)
    # Both backends cut crops with the same CPU sampler, so whole-frame embeddings agree as well.
    np.testing.assert_allclose(onnx_embedder.embed(bgr, boxes), osnet_embedder.embed(bgr, boxes), atol=1e-4)
    assert onnx_embedder.embed(bgr, np.zeros((0, 4))).shape == (0, 512)


def test_export_command_and_onnx_errors(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "cli.onnx"
    assert export_main(["--model", "osnet_x0_25", "--random-init", "--input-height", "64", "--input-width", "32",
                        "--output", str(out)]) == 0
    assert out.is_file() and "512-d" in capsys.readouterr().out
    assert export_main(["--model", "osnet_x0_25", "--output", str(tmp_path / "no.onnx")]) == 2
    assert "needs a weights file" in capsys.readouterr().err
    # The network's features come with colour mixed in, unless colour_weight is 0.
    embedder = build_embedder({"backend": "onnx", "model": str(out), "device": "cpu"})
    assert embedder.network.providers == ["CPUExecutionProvider"] and embedder.colour_weight == 0.15
    assert embedder.embed(np.zeros((480, 640, 3), np.uint8), np.array([[10.0, 20.0, 50.0, 120.0]])).shape == (1, 512 + 112)
    plain = build_embedder({"backend": "onnx", "model": str(out), "device": "cpu", "colour_weight": 0.0})
    assert plain.providers == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not found; export one"):
        build_embedder({"backend": "onnx", "model": str(tmp_path / "none.onnx")})
