"""Image data: readers, cleaning, augmentation."""
