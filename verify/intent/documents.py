"""A template file (or CloudFormation's GetTemplate answer) read into a document and its form.

JSON is read strictly (a key given twice is an error, as CloudFormation says); YAML CloudFormation
templates are read with a loader that knows the short-form intrinsics (`!Ref`, `!GetAtt A.B`, `!Sub`,
...) and turns each into its long form (`{"Fn::GetAtt": ["A", "B"]}`), so one evaluator reads both.
The form is told by the document's shape, never by the file name.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.intent.model import (
    CDK,
    CDKTF,
    CLOUDFORMATION,
    TERRAFORM_PLAN,
    TERRAFORM_STATE,
    TemplateError,
)

# CloudFormation accepts templates up to 1 MB (S3) and CDK's are smaller; 50 MB leaves room for a
# Terraform state of a big account and still refuses a file that is plainly something else.
MAX_TEMPLATE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    form: str
    data: dict[str, Any]
    source: str


def read_document(path: str | Path, shown: str | None = None) -> Document:
    """The template at `path`; `shown` is how messages name it (default: the path as given)."""
    file = Path(path)
    name = shown or str(path)
    try:
        if file.is_dir():
            raise TemplateError(
                f"Template {name} is a directory; pass the template file itself "
                "(cdk.out/<Stack>.template.json, cdktf.out/stacks/<stack>/cdk.tf.json or a `terraform show -json` file)."
            )
        size = file.stat().st_size
        if size > MAX_TEMPLATE_BYTES:
            raise TemplateError(
                f"Template {name} is {size // (1024 * 1024)} MB, larger than any template verify reads "
                f"({MAX_TEMPLATE_BYTES // (1024 * 1024)} MB); pass the stack's own template."
            )
        raw = file.read_bytes()
    except FileNotFoundError:
        raise TemplateError(
            f"Template {name} does not exist; pass the path of the synthesized template "
            "(cdk synth writes cdk.out/<Stack>.template.json, cdktf synth writes cdktf.out/stacks/<stack>/cdk.tf.json)."
        ) from None
    except OSError as exc:
        raise TemplateError(f"Template {name} could not be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateError(f"Template {name} is not UTF-8 text, so it is no template.") from None
    return parse_document(text, name)


def parse_document(text: str | dict[str, Any], source: str) -> Document:
    """A template's text (or GetTemplate's already parsed body) → its document and form."""
    data = text if isinstance(text, dict) else _parse_text(text, source)
    if not isinstance(data, dict):
        raise TemplateError(
            f"Template {source} holds a {type(data).__name__}, not a template "
            "(a CloudFormation template, a cdk.tf.json or `terraform show -json` output is one object)."
        )
    return Document(form=detect_form(data, source), data=data, source=source)


def _parse_text(text: str, source: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, object_pairs_hook=_strict_object)
        except _DuplicateKey as exc:
            raise TemplateError(f"Template {source} gives key {exc.key!r} twice in one object.") from None
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"Template {source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        except RecursionError:
            raise TemplateError(f"Template {source} is nested too deeply to be a template.") from None
    return _parse_yaml(text, source)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def detect_form(data: dict[str, Any], source: str) -> str:
    if "format_version" in data and ("planned_values" in data or "resource_changes" in data):
        return TERRAFORM_PLAN
    if "format_version" in data and ("values" in data or "terraform_version" in data):
        return TERRAFORM_STATE
    if isinstance(data.get("resource"), dict) or (
        isinstance(data.get("terraform"), dict) and "Resources" not in data
    ):
        return CDKTF
    resources = data.get("Resources")
    if isinstance(resources, dict):
        return CDK if _synthesized_by_cdk(data, resources) else CLOUDFORMATION
    keys = ", ".join(sorted(map(str, data))[:6]) or "none"
    raise TemplateError(
        f"Template {source} is no template verify reads: it has no `Resources` (CloudFormation), "
        f"`resource` (cdk.tf.json) or `planned_values`/`values` (`terraform show -json`); its top-level keys: {keys}."
    )


def _synthesized_by_cdk(data: dict[str, Any], resources: dict[str, Any]) -> bool:
    if isinstance(data.get("Parameters"), dict) and "BootstrapVersion" in data["Parameters"]:
        return True
    return any(
        isinstance(r, dict) and isinstance(r.get("Metadata"), dict) and "aws:cdk:path" in r["Metadata"]
        for r in resources.values()
    )


# ---------------------------------------------------------------- YAML with CloudFormation's short tags

_SHORT_TAGS = (
    "Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
    "Transform", "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString",
)  # fmt: skip


def _parse_yaml(text: str, source: str) -> Any:
    try:
        # Imported by name: PyYAML ships no type stubs, and the loader is used through `Any` anyway.
        yaml = importlib.import_module("yaml")
    except ImportError:  # a declared dependency; said plainly should an install lack it
        raise TemplateError(
            f"Template {source} is YAML, and reading YAML needs PyYAML: `pip install pyyaml`."
        ) from None
    loader = _cfn_loader(yaml)
    try:
        return yaml.load(text, Loader=loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise TemplateError(
            f"Template {source} is neither valid JSON nor valid YAML: {exc.problem or exc}{where}."
        ) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"Template {source} is not valid YAML: {exc}.") from None
    except RecursionError:
        raise TemplateError(f"Template {source} is nested too deeply to be a template.") from None


_LOADERS: dict[int, Any] = {}


def _cfn_loader(yaml: Any) -> Any:
    """A SafeLoader that knows CloudFormation's short tags (built once per yaml module)."""
    if id(yaml) in _LOADERS:
        return _LOADERS[id(yaml)]

    class CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            # CloudFormation does not accept YAML aliases; refusing them also keeps a few lines of
            # nested aliases from expanding into billions of nodes for the evaluator to walk.
            if self.check_event(yaml.AliasEvent):
                event = self.get_event()
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"found the alias *{event.anchor}, which CloudFormation templates cannot use",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    def node_value(loader: Any, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    def long_form(name: str) -> Any:
        def construct(loader: Any, node: Any) -> Any:
            return {name: node_value(loader, node)}

        return construct

    def get_att(loader: Any, node: Any) -> Any:
        value = node_value(loader, node)
        if isinstance(value, str):  # `!GetAtt Table.StreamArn` is `[Table, StreamArn]`
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {"Fn::GetAtt": value}

    CloudFormationLoader.add_constructor("!Ref", long_form("Ref"))
    CloudFormationLoader.add_constructor("!Condition", long_form("Condition"))
    CloudFormationLoader.add_constructor("!GetAtt", get_att)
    for tag in _SHORT_TAGS:
        CloudFormationLoader.add_constructor(f"!{tag}", long_form(f"Fn::{tag}"))
    _LOADERS[id(yaml)] = CloudFormationLoader
    return CloudFormationLoader


# ---------------------------------------------------------------- CloudFormation's GetTemplate (--stack)


def template_from_cloudformation(stack_name: str, cloudformation: Any) -> Document:
    """The deployed stack's template, as CloudFormation processed it (transforms such as SAM
    expanded), read with one GetTemplate call on a boto3 CloudFormation client."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    from verify.errors import AwsAccessError

    source = f"cloudformation:{stack_name}"
    region = getattr(getattr(cloudformation, "meta", None), "region_name", None) or "the configured region"
    try:
        answer = cloudformation.get_template(StackName=stack_name, TemplateStage="Processed")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        if code == "ValidationError" and "does not exist" in str(error.get("Message", "")):
            raise TemplateError(
                f"CloudFormation stack {stack_name!r} does not exist in {region}, so it has no template to read; "
                "check --stack and --region."
            ) from None
        raise AwsAccessError(
            f"CloudFormation GetTemplate on stack {stack_name!r} in {region} failed with {code}; "
            "grant cloudformation:GetTemplate to the identity running verify, or pass --template PATH."
        ) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsAccessError(
            f"No AWS credentials were found to call cloudformation:GetTemplate on stack {stack_name!r}; "
            "configure AWS_PROFILE, SSO or environment credentials."
        ) from None
    except BotoCoreError as exc:
        raise AwsAccessError(
            f"Could not reach CloudFormation in {region} to read the template of stack {stack_name!r} "
            f"({type(exc).__name__}); check the network and AWS_ENDPOINT_URL."
        ) from None
    body = answer.get("TemplateBody")
    if not isinstance(body, str | dict):
        raise TemplateError(f"CloudFormation returned no template body for stack {stack_name!r}.")
    return parse_document(body, source)
