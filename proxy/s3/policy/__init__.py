"""S3 bucket policies: the IAM policy language for resource policies, stored per bucket.

``document`` parses and validates a policy (``MalformedPolicy``), ``conditions`` evaluates the
``Condition`` block over the request's keys, ``evaluate.policy_decision`` answers "deny" / "allow" /
"none" for one action of one request, ``storage`` keeps the policy in the bucket's container sysmeta
and ``handlers`` answers Get/Put/DeleteBucketPolicy and GetBucketPolicyStatus.
"""

from proxy.s3.policy.evaluate import policy_decision

__all__ = ["policy_decision"]
