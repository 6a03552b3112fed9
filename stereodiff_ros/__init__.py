"""StereoDiff for monocular video: MonST3R pairwise stereo with closed-form global alignment
(stage 1) and one-step video diffusion refinement (stage 2). ROS-free, like the SAV core."""
