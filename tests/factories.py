import factory

from accounts.models import Service, Team, User


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Service {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.HUB
    service = factory.SubFactory(ServiceFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    # Plain names: an apostrophe (O'Connor) is escaped in HTML and would make text checks flaky.
    first_name = factory.Iterator(["Alex", "Sam", "Jordan", "Priya", "Kwame", "Morgan", "Ellis", "Niamh", "Tariq"])
    last_name = factory.Iterator(["Holm", "Lund", "Marsh", "Grove", "Tully", "Manning", "Ashdown", "Okafor", "Reid"])
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")


class FamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.Family"

    name = factory.Sequence(lambda n: f"The Testwood{n} household")
    address_line_1 = "1 Lantern Row"
    town = "Exampleton"
    postcode = "ZZ1 1AB"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.Person"

    first_name = factory.Sequence(lambda n: f"Child{n}")
    last_name = "Testwood"
    date_of_birth = factory.Faker("date_of_birth", minimum_age=1, maximum_age=16)
    sex = "F"
    ethnicity = "WBRI"


def family_with_children(n_children: int = 2, **family_fields):
    from cases.models import Membership

    family = FamilyFactory(**family_fields)
    children = [PersonFactory() for _ in range(n_children)]
    for child in children:
        Membership.objects.create(family=family, person=child, relationship="child")
    parent = PersonFactory(first_name="Parent", date_of_birth=None)
    Membership.objects.create(family=family, person=parent, relationship="parent")
    return family, children
