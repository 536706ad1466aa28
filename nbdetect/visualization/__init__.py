"""Drawing boxes on images and plotting galleries, with KerasCV's names and arguments.

Code written for `keras_cv.visualization` runs with `from nbdetect import visualization`;
boxes and labels are drawn with Pillow (no OpenCV) in matplotlib's DejaVu Sans font::

    from nbdetect import visualization

    visualization.plot_bounding_box_gallery(
        images, value_range=(0, 255), bounding_box_format="xywh",
        y_true=y_true, y_pred=model.predict(images), class_mapping=class_mapping,
        rows=2, cols=2, scale=5, font_scale=0.7, legend=True,
    )

Tables of results (`tables.Table`: text for terminals, HTML for notebooks) and line plots in
panels (`curves.line_panels`: loss curves, precision–recall curves) are drawn by the
submodules of those names.
"""

from nbdetect.visualization.bounding_box_gallery import plot_bounding_box_gallery
from nbdetect.visualization.draw import draw_bounding_boxes
from nbdetect.visualization.image_gallery import plot_image_gallery

__all__ = ["draw_bounding_boxes", "plot_bounding_box_gallery", "plot_image_gallery"]
