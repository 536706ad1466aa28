"""Table: rows of dicts as fixed-width text and HTML, for the monitor and the dashboard."""

import pytest

from nbdetect.visualization.tables import Table, format_value, header_lines

CELL = "padding:2px 8px;text-align:{};white-space:nowrap"
HEAD = ";border-bottom:1px solid #888;vertical-align:bottom"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (3, "3"),
        (True, "True"),
        (0.0, "0.0000"),
        (0.41236, "0.4124"),
        (-1.0, "-1.0000"),
        (1e-5, "1e-05"),
        (123456.78, "1.235e+05"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ("cat", "cat"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_header_lines():
    assert header_lines("MaP@[IoU=50]") == ["MaP", "@[IoU=50]"]
    assert header_lines("val_loss") == ["val_loss"]


def test_epoch_table_text_as_the_monitor_prints_it():
    table = Table(["epoch", "loss", "MaP@[IoU=50]"], min_width=9, min_widths={"epoch": 5})
    rows = [{"epoch": 1, "loss": 1.23456, "MaP@[IoU=50]": 0.5}, {"epoch": 2, "loss": 0.5}]
    assert table.text(rows) == (
        "                        MaP\n"
        "epoch       loss  @[IoU=50]\n"
        "-----  ---------  ---------\n"
        "    1     1.2346     0.5000\n"
        "    2     0.5000          -"
    )
    # Rows printed one at a time line up under a header printed before them.
    assert table.text([]) + "\n" + table.text(rows[1:], header=False) == (
        "\n".join(table.text(rows).splitlines()[:3] + table.text(rows).splitlines()[4:])
    )


def test_epoch_table_html_with_caption_and_note():
    table = Table(["epoch", "loss"])
    right = CELL.format("right")
    assert table.html([{"epoch": 2, "loss": 0.5}], caption="Epoch 2 of 3", note="… 1 earlier") == (
        '<div style="overflow-x:auto;max-width:100%">'
        '<table style="border-collapse:collapse;font-family:monospace;font-size:12px">'
        '<caption style="text-align:left;font-weight:bold">Epoch 2 of 3</caption>'
        f'<thead><tr><th style="{right}{HEAD}">epoch</th><th style="{right}{HEAD}">loss</th>'
        "</tr></thead><tbody>"
        f'<tr><td colspan="2" style="{CELL.format("left")};color:#888">… 1 earlier</td></tr>'
        f'<tr><td style="{right}">2</td><td style="{right}">0.5000</td></tr>'
        "</tbody></table></div>"
    )


# The evaluation dashboard's per-class table: names on the left, a row highlighted.
PER_CLASS = ["class", "AP", "AP50", "AP75", "AR", "#truth", "TP", "FP", "FN"]
CLASSES = [
    {"class": "cat", "AP": 0.41234, "AP50": 0.7, "AP75": 0.4, "AR": 0.5,
     "#truth": 20, "TP": 15, "FP": 4, "FN": 5},
    {"class": "<dog>", "AP": 0.1, "AP50": 0.2, "AP75": 0.05, "AR": 0.25,
     "#truth": 8, "TP": 2, "FP": 9, "FN": 6},
]  # fmt: skip


def test_per_class_table_text():
    assert Table(PER_CLASS, left=["class"]).text(CLASSES) == (
        "class      AP    AP50    AP75      AR  #truth  TP  FP  FN\n"
        "-----  ------  ------  ------  ------  ------  --  --  --\n"
        "cat    0.4123  0.7000  0.4000  0.5000      20  15   4   5\n"
        "<dog>  0.1000  0.2000  0.0500  0.2500       8   2   9   6"
    )


def test_per_class_table_html_highlights_a_row_and_escapes_names():
    text = Table(PER_CLASS, left=["class"]).html(CLASSES, caption="At IoU 0.5", highlight=1)
    rows = text.split("<tr")[1:]
    assert len(rows) == 3  # the header and two classes
    assert rows[1].startswith(">") and "font-weight:bold" not in rows[1]
    assert rows[2].startswith(' style="background:rgba(255,193,7,0.3);font-weight:bold">')
    assert f'<td style="{CELL.format("left")}">&lt;dog&gt;</td>' in rows[2]
    assert f'<th style="{CELL.format("left")}{HEAD}">class</th>' in rows[0]
    assert '<caption style="text-align:left;font-weight:bold">At IoU 0.5</caption>' in text


def test_tide_table_with_its_own_number_format():
    errors = [{"error": "classification", "dAP": 3.14159}, {"error": "missed", "dAP": 12.5}]
    table = Table(["error", "dAP"], left=["error"], formats={"dAP": lambda v: f"{v:+.1f}"})
    assert table.text(errors) == (
        "error             dAP\n--------------  -----\nclassification   +3.1\nmissed          +12.5"
    )
