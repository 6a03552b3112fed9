"""Video Depth Anything Small (Chen et al., 2025) as Stereo Any Video uses it: a feature extractor.

Module names follow the official code so its checkpoints load with ``strict=True``.
"""

from .video_depth import VideoDepthAnything

__all__ = ['VideoDepthAnything']
