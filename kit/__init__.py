"""The shared kit every app builds on: the bottom layer, below accounts and cases.

It holds only what has no business rules of its own and knows no app's models: the timezone of the
councils (`kit.time.LONDON`), the permission checks views and services share (`kit.permissions`),
form bases and GOV.UK field builders, querystring helpers and the template tags for the status tag
and the deadline cell. Every name here is public; nothing here imports an app of the project.
"""
