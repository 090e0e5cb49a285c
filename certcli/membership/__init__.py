"""Membership e-certificates (电子非执业会员证): rules, the member service, member documents."""
