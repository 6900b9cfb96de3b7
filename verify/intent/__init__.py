"""Declared intent: what a stack's own template (CDK, CloudFormation, CDKTF, Terraform plan or state)
asks for, read into one model and mapped to the inventory's resources (docs/intent.md).

`verify.intent.load.intent_for` is the entry point; `verify.intent.model` holds the model.
"""
