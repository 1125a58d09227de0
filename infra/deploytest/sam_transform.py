#!/usr/bin/env python3
"""Transform template.yaml with the SAM translator cfn-lint ships, offline,
and print the CloudFormation template as JSON: what `sam deploy` would hand
CloudFormation, so tests can assert on the resources SAM generates (roles,
permissions, integrations, schedules) rather than on the SAM shorthand.

Local artifacts are replaced as `sam package` would: each function's
CodeUri by an S3 location (BUCKET/<logical id>.zip, default bucket
"mailbridge-artifacts"), and the state machine's DefinitionUri by the
definition itself, read from the file.

usage: sam_transform.py [--bucket NAME] TEMPLATE > transformed.json
"""
import argparse
import json
import os
import sys

from cfnlint.decode import decode
from cfnlint.data import Serverless
from cfnlint.helpers import load_resource
from samtranslator.parser import parser
from samtranslator.translator.translator import Translator


def transform(path, bucket="mailbridge-artifacts"):
    """The template at path after the SAM transform, as a dict; raises
    ValueError with cfn-lint's findings when it cannot be decoded."""
    template, matches = decode(path)
    if matches:
        raise ValueError("\n".join(str(m) for m in matches))
    base = os.path.dirname(os.path.abspath(path))
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://{bucket}/{name}.zip"
        if res.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            uri = props.pop("DefinitionUri")
            if not os.path.exists(os.path.join(base, uri)):
                # A copy of the template elsewhere: the repository's file.
                base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
            with open(os.path.join(base, uri)) as f:
                props["Definition"] = json.load(f)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translator = Translator(managed_policy_map=load_resource(Serverless, "ManagedPolicies.json"), sam_parser=parser.Parser())
    return translator.translate(sam_template=template, parameter_values={})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bucket", default="mailbridge-artifacts")
    ap.add_argument("template")
    args = ap.parse_args()
    try:
        out = transform(args.template, args.bucket)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
