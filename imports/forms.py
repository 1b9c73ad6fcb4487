"""The upload form: the export files, one per kind, checked for name, type and size before anything is read."""

from __future__ import annotations

from django import forms
from django.conf import settings

from imports.layout import EXTENSIONS, KIND_OF
from kit.forms import GdsForm, SafeTextMixin, has_hidden_characters

MAX_FILES = len(KIND_OF)
ZIP_MAGIC = b"PK\x03\x04"


def max_upload_bytes() -> int:
    return getattr(settings, "EARLYHELP_MAX_IMPORT_MB", 200) * 1024 * 1024


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else single(data, initial)


def file_problem(upload) -> str | None:
    """Why an uploaded file cannot be one of the set, or None."""
    name = upload.name or ""
    if has_hidden_characters(name):
        return "A file name has hidden characters: rename the file"
    stem, dot, suffix = name.rpartition(".")
    suffix = f"{dot}{suffix}".lower()
    if stem.lower() not in KIND_OF or suffix not in EXTENSIONS:
        kinds = ", ".join(KIND_OF)
        return f"{name[:80]} is not a file of the layout: name each file after its kind ({kinds}), .csv or .xlsx"
    if not upload.size:
        return f"{name} is empty"
    if upload.size > max_upload_bytes():
        return f"{name} is larger than {max_upload_bytes() // (1024 * 1024)} MB: split the export or ask your supplier"
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if suffix == ".xlsx" and head != ZIP_MAGIC:
        return f"{name} is not an Excel workbook: save it as .xlsx or as CSV UTF-8"
    if suffix == ".csv" and head.startswith(ZIP_MAGIC):
        return f"{name} is a workbook, not a CSV file: name it .xlsx or save it as CSV UTF-8"
    return None


class UploadForm(SafeTextMixin, GdsForm):
    files = MultipleFileField(
        label="Export files",
        help_text="One file per kind, named after it (families.csv, people.xlsx, ...), CSV UTF-8 or Excel",
    )

    def clean_files(self):
        uploads = self.cleaned_data.get("files") or []
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(f"Choose at most {MAX_FILES} files: one per kind")
        kinds = set()
        for upload in uploads:
            problem = file_problem(upload)
            if problem:
                raise forms.ValidationError(problem)
            kind = upload.name.rpartition(".")[0].lower()
            if kind in kinds:
                raise forms.ValidationError(f"Two files for {kind}: choose one")
            kinds.add(kind)
        return uploads
