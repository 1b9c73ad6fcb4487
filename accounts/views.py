from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import UserForm
from accounts.models import User
from accounts.roles import ADMINISTRATOR


def _require_admin(user) -> None:
    if not user.has_role(ADMINISTRATOR):
        raise PermissionDenied


@login_required
def user_list(request):
    _require_admin(request.user)
    users = User.objects.select_related("team").prefetch_related("groups").order_by("last_name", "first_name")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page})


@login_required
def user_edit(request, pk: int | None = None):
    _require_admin(request.user)
    instance = get_object_or_404(User, pk=pk) if pk else None
    form = UserForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
        messages.success(request, f"{user} has been saved.")
        return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "editing": instance})
