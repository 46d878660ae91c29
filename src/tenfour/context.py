"""What a service needs to know about who is asking: the principal (for scope) and the actor (for audit)."""

from __future__ import annotations

from dataclasses import dataclass

from tenfour.audit.service import Actor
from tenfour.policy import Principal


@dataclass(frozen=True)
class Ctx:
    principal: Principal | None
    actor: Actor

    @classmethod
    def system(cls, label: str) -> Ctx:
        return cls(principal=None, actor=Actor.system(label))

    @classmethod
    def for_principal(cls, principal: Principal, ip_address: str | None = None,
                      user_agent: str | None = None) -> Ctx:
        user = principal.user
        return cls(principal, Actor(user.id, f"{user.full_name} <{user.email}>", user.role, ip_address, user_agent))
