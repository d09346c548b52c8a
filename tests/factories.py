"""factory_boy factories for the registry's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from clusters.kubeconfig import credentials
from clusters.models import Cluster
from tests import kubeconfigs


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct-horse-battery")


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"cluster-{n}")
    poll_interval_minutes = 15

    @factory.post_generation
    def kubeconfig(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        text = extracted or kubeconfigs.text(kubeconfigs.kubeconfig())
        self.store_kubeconfig(credentials(text))
        if create:
            self.save()

    @factory.post_generation
    def owners(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.owners.set(extracted)
