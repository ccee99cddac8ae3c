"""The pure heart of the product: rules and data of staged rollouts.

Nothing here performs I/O or imports Temporal or a database driver. Workflows, activities, the
API and the audit all ask these modules the same questions and get the same answers.
"""
