"""`verify preflight`: a template asked about before it is deployed (docs/intent.md, "Preflight").

Run by `verify preflight`, never by `verify run` (this module is no `test_*.py`): each check is about a
resource the template declares (`resource`, with its logical id) or about the whole template
(`template`). Each answers, read-only, what a deploy would otherwise find out minutes in.
"""

from __future__ import annotations

from verify import Aws, CheckRecorder, mark, probes


@mark.check("rds", title="RDS {name}: the declared engine version is offered in the region")
@mark.resources("rds_instance", "rds_cluster")
def test_rds_engine_version_offered(
    resource: probes.preflight.DeclaredSubject, aws: Aws, check: CheckRecorder
) -> None:
    """The declared RDS engine version is one RDS offers in the region (DescribeDBEngineVersions)."""
    check.record_all(probes.preflight.rds_engine_version_offered(aws.client("rds"), resource))


@mark.check("rds", title="RDS {name}: the declared instance class is orderable for its engine and version")
@mark.resources("rds_instance", "rds_cluster")
def test_rds_instance_class_orderable(
    resource: probes.preflight.DeclaredSubject, aws: Aws, check: CheckRecorder
) -> None:
    """The declared instance class is orderable for the engine and version (DescribeOrderableDBInstanceOptions)."""
    check.record_all(probes.preflight.rds_instance_class_orderable(aws.client("rds"), resource))


@mark.check("elasticache", title="ElastiCache {name}: the declared engine version is offered in the region")
@mark.resources("elasticache")
def test_cache_engine_version_offered(
    resource: probes.preflight.DeclaredSubject, aws: Aws, check: CheckRecorder
) -> None:
    """The declared ElastiCache engine version is one ElastiCache offers (DescribeCacheEngineVersions)."""
    check.record_all(probes.preflight.cache_engine_version_offered(aws.client("elasticache"), resource))


@mark.check("lambda", title="Lambda function {name}: the declared runtime is not deprecated")
@mark.resources("lambda_function")
def test_lambda_runtime_not_deprecated(
    resource: probes.preflight.DeclaredSubject, check: CheckRecorder
) -> None:
    """The declared Lambda runtime is not deprecated (verify's dated table: AWS has no API for it)."""
    check.record_all(probes.preflight.runtime_not_deprecated(resource))


@mark.check("secretsmanager", title="Secret {name}: a declared rotation has a function to rotate with")
@mark.resources("secret")
def test_secret_rotation_has_function(
    resource: probes.preflight.DeclaredSubject, aws: Aws, check: CheckRecorder
) -> None:
    """A declared secret rotation names a rotation function, and one named by its ARN exists (GetFunction)."""
    check.record_all(probes.preflight.rotation_has_function(aws.client("lambda"), resource))


@mark.check("template", title="The names the template declares fit AWS's length and character rules")
def test_names_fit_aws_rules(template: probes.preflight.DeclaredTemplate, check: CheckRecorder) -> None:
    """Every declared name fits AWS's length and character rules for its kind (a .fifo queue too)."""
    check.record_all(probes.preflight.names_fit(template))
