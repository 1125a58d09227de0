#!/usr/bin/env python3
"""Deploy rehearsal without AWS: template.yaml after the SAM transform is
created as the stacks of samconfig.toml's environments (dev and prod) side
by side on moto's CloudFormation, each with its stack name, capabilities
and parameter overrides, then the created resources are checked: per stage
a table, four queues, five functions with their log groups (kept the
environment's LogRetentionDays), the state machine, the keys, the alarm
topic.

moto_server at MAILBRIDGE_MOTO_ENDPOINT (as `make test` starts it), else
moto in this process. MAILBRIDGE_TEMPLATE rehearses another template.
MAILBRIDGE_REHEARSAL_ACCOUNT=<12 digits> creates the stacks in that
account of moto (through sts:AssumeRole), so several rehearsals share one
moto_server; MAILBRIDGE_REHEARSAL_OUT=<file> writes there, as JSON, what
the stacks created (per stage: the stack's outputs, each resource's
physical id, each function's name, its environment as CloudFormation
resolved it and its SQS event source mappings) and the credentials of the
account. The Go half of the rehearsal (functions/internal/rehearsal,
which runs this script) then calls each function's handler against those
resources.

What moto cannot emulate, and how it is covered instead:
  - API Gateway importing the OpenAPI body (its Deployment fails with "no
    methods"): the Deployment and Stage are left out here; the
    integration (no caller credentials) and the function's permission are
    asserted on the transformed template (shared/testsupport/deploytest, Go).
  - AWS::Scheduler::Schedule, AWS::CloudWatch::Alarm and
    AWS::Lambda::EventInvokeConfig in CloudFormation (skipped by moto): the
    schedules are created here through the Scheduler API with the names the
    template gives each stage, in the group it gives, so a collision
    between stages fails as AWS would; alarms and the invoke config are
    asserted on the transformed template.
  - IAM evaluation, KMS key policies, SNS delivery to encrypted topics:
    asserted on the transformed template (roles against the code's calls,
    the alarm key's policy).
  - AWS::Lambda::Alias and CodeDeploy (the "live" alias each
    DeploymentPreference moves, its deployment group and traffic shifting):
    here every reference to an alias is pointed at its function and the
    alias and CodeDeploy resources are left out; after the stacks exist
    each alias is created through the Lambda API on the version the stack
    published. That every event source invokes the alias and every
    deployment group rolls back on the alias's error alarm is asserted on
    the transformed template (deploy_test.go).
  - Lambda running anything (event source mappings polling, Scheduler and
    Step Functions invoking): functions/internal/rehearsal calls the
    handlers itself; docs/operations.md, "The deploy rehearsal", lists
    every gap and what covers it.
"""
import io
import json
import logging
import os
import re
import shlex
import sys
import warnings
import tomllib
import zipfile

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sam_transform  # noqa: E402 (beside this script)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
REGION = "us-east-1"
BUCKET = "mailbridge-artifacts"
ENVIRONMENTS = ["dev", "prod"]


def environments():
    """{stage: (stack name, capabilities, parameters)} from samconfig.toml,
    as `sam deploy --config-env ENV` would pass them."""
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        cfg = tomllib.load(f)
    out = {}
    for env in ENVIRONMENTS:
        d = cfg[env]["deploy"]["parameters"]
        params = dict(kv.split("=", 1) for kv in shlex.split(d["parameter_overrides"]))
        caps = d["capabilities"].split() if isinstance(d["capabilities"], str) else d["capabilities"]
        out[params["Stage"]] = (d["stack_name"], caps, params)
    return out


# The credentials of the rehearsal's account (MAILBRIDGE_REHEARSAL_ACCOUNT),
# once assumed; moto's default account until then.
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(name, endpoint):
    kw = dict(region_name=REGION, **CREDS)
    if endpoint:
        kw["endpoint_url"] = endpoint
    return boto3.client(name, **kw)


def sub(s, stage):
    return s.replace("${Stage}", stage).replace("${AWS::Region}", REGION)


def without_aliases(tpl):
    """The template with each alias's references pointed at its function,
    and the alias and CodeDeploy resources left out (moto creates neither);
    returns the aliases as {function logical id: alias name}."""
    res = tpl["Resources"]
    aliases = {k: r["Properties"] for k, r in res.items() if r["Type"] == "AWS::Lambda::Alias"}
    to_fn = {k: p["FunctionName"]["Ref"] for k, p in aliases.items()}

    def walk(v):
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in to_fn:
                return {"Ref": to_fn[v["Ref"]]}
            return {k: walk(e) for k, e in v.items()}
        if isinstance(v, list):
            return [walk(e) for e in v]
        if isinstance(v, str):
            for a, fn in to_fn.items():
                v = v.replace("${" + a + "}", "${" + fn + "}")
            return to_fn.get(v, v)  # DependsOn entries
        return v

    for k in [k for k, r in res.items() if k in aliases or r["Type"].startswith("AWS::CodeDeploy::") or k == "CodeDeployServiceRole"]:
        del res[k]
    tpl["Resources"] = walk(res)
    return {to_fn[k]: p["Name"] for k, p in aliases.items()}


def assume_account(endpoint, account):
    c = client("sts", endpoint).assume_role(RoleArn=f"arn:aws:iam::{account}:role/rehearsal", RoleSessionName="rehearsal")["Credentials"]
    CREDS.update(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def env_value(v):
    """A Lambda environment value as CloudFormation passes it: a string
    (moto keeps a resolved number as a number)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def target_of(expr):
    """The logical id an expression names (Ref or Fn::GetAtt), "" if none."""
    if isinstance(expr, dict):
        if "Ref" in expr:
            return expr["Ref"]
        if "Fn::GetAtt" in expr:
            a = expr["Fn::GetAtt"]
            return a[0] if isinstance(a, list) else a.split(".")[0]
    return ""


def stack_report(endpoint, envs, res):
    """What each stage's stack created, for the Go half of the rehearsal;
    moto's CloudFormation skips schedules, so theirs come from the
    template: the function each invokes and the input it sends."""
    cf, lam = client("cloudformation", endpoint), client("lambda", endpoint)
    stages = {}
    for stage, (name, _, _) in envs.items():
        st = cf.describe_stacks(StackName=name)["Stacks"][0]
        resources, fns = {}, {}
        for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]:
            resources[r["LogicalResourceId"]] = {"type": r["ResourceType"], "physicalId": r.get("PhysicalResourceId", "")}
            if r["ResourceType"] == "AWS::Lambda::Function":
                cfg = lam.get_function_configuration(FunctionName=r["PhysicalResourceId"])
                mappings = [{"queueArn": m["EventSourceArn"], "batchSize": m.get("BatchSize", 0), "functionResponseTypes": m.get("FunctionResponseTypes", [])}
                            for m in lam.list_event_source_mappings(FunctionName=r["PhysicalResourceId"])["EventSourceMappings"]]
                fns[r["LogicalResourceId"]] = {"name": cfg["FunctionName"], "timeoutSeconds": cfg.get("Timeout", 3), "queueMappings": mappings,
                                               "environment": {k: env_value(v) for k, v in cfg.get("Environment", {}).get("Variables", {}).items()}}
        schedules = {k: {"function": target_of(r["Properties"]["Target"]["Arn"]), "input": r["Properties"]["Target"].get("Input", "")}
                     for k, r in res.items() if r["Type"] == "AWS::Scheduler::Schedule"}
        stages[stage] = {"stack": name, "outputs": {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])},
                         "resources": resources, "functions": fns, "schedules": schedules}
    return {"region": REGION, "credentials": {"accessKeyId": CREDS["aws_access_key_id"], "secretAccessKey": CREDS["aws_secret_access_key"],
                                              "sessionToken": CREDS.get("aws_session_token", "")}, "stages": stages}


def dangling(tpl):
    """One line per reference (Ref, Fn::GetAtt, Fn::Sub) to a resource or
    parameter the template does not have: CloudFormation refuses such a
    template, and moto's answers it with an unhelpful HTTP 500."""
    known = set(tpl["Resources"]) | set(tpl.get("Parameters", {}))
    out = []

    def check(where, name):
        if not name.startswith("AWS::") and name not in known:
            out.append(f"template: {where} refers to {name}, which the template does not create")

    def walk(where, v, local=()):
        if isinstance(v, dict):
            for k, e in v.items():
                if k == "Ref" and isinstance(e, str):
                    if e not in local:
                        check(where, e)
                elif k == "Fn::GetAtt":
                    check(where, e[0] if isinstance(e, list) else e.split(".")[0])
                elif k == "Fn::Sub":
                    text, names = (e, {}) if isinstance(e, str) else (e[0], e[1])
                    for n in re.findall(r"\$\{([^}!]+)\}", text):
                        if n.split(".")[0] not in names:
                            check(where, n.split(".")[0])
                    walk(where, names, local)
                else:
                    walk(where, e, local)
        elif isinstance(v, list):
            for e in v:
                walk(where, e, local)

    for k, r in tpl["Resources"].items():
        walk(k, r.get("Properties", {}))
    for k, o in tpl.get("Outputs", {}).items():
        walk("output " + k, o)
    return sorted(set(out))


def rehearse(endpoint):
    bucket = BUCKET
    if os.environ.get("MAILBRIDGE_REHEARSAL_ACCOUNT"):
        assume_account(endpoint, os.environ["MAILBRIDGE_REHEARSAL_ACCOUNT"])
        bucket += "-" + os.environ["MAILBRIDGE_REHEARSAL_ACCOUNT"]  # bucket names are global across accounts
    # In this process: a second interpreter would import the translator again.
    tpl = json.loads(json.dumps(sam_transform.transform(os.environ.get("MAILBRIDGE_TEMPLATE") or os.path.join(ROOT, "template.yaml"), bucket), default=str))
    if problems := dangling(tpl):
        return problems
    aliases = without_aliases(tpl)
    res = tpl["Resources"]
    for k in [k for k, r in res.items() if r["Type"] in ("AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage")]:
        del res[k]
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=bucket)
    for k, r in res.items():
        if r["Type"] == "AWS::Lambda::Function":
            b = io.BytesIO()
            with zipfile.ZipFile(b, "w") as z:
                z.writestr("bootstrap", "#!/bin/sh\n")
            s3.put_object(Bucket=bucket, Key=k + ".zip", Body=b.getvalue())
    cf = client("cloudformation", endpoint)
    problems = []
    envs = environments()
    stages = list(envs)
    for stage, (name, caps, params) in envs.items():
        if name != "mailbridge-" + stage:
            problems.append(f"samconfig.toml: stage {stage} deploys stack {name}, want mailbridge-{stage}")
        for k in params:
            if k not in tpl["Parameters"]:
                problems.append(f"samconfig.toml: stage {stage} overrides {k}, which is no parameter of the template")
        cf.create_stack(StackName=name, TemplateBody=json.dumps(tpl), Capabilities=caps,
                        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
        st = cf.describe_stacks(StackName=name)["Stacks"][0]
        if st["StackStatus"] != "CREATE_COMPLETE":
            problems.append(f"{name}: {st['StackStatus']} {st.get('StackStatusReason')}")
    # Per stage, what must exist.
    tables = client("dynamodb", endpoint).list_tables()["TableNames"]
    queues = client("sqs", endpoint).list_queues().get("QueueUrls", [])
    functions = [f["FunctionName"] for f in client("lambda", endpoint).list_functions()["Functions"]]
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in client("logs", endpoint).describe_log_groups()["logGroups"]}
    machines = [m["name"] for m in client("stepfunctions", endpoint).list_state_machines()["stateMachines"]]
    topics = [t["TopicArn"] for t in client("sns", endpoint).list_topics()["Topics"]]
    keys = client("kms", endpoint).list_keys()["Keys"]
    fn_names = [sub(r["Properties"]["FunctionName"]["Fn::Sub"], "{s}") for r in res.values() if r["Type"] == "AWS::Lambda::Function"]
    for stage in stages:
        want = {
            "table": ([f"mailbridge-{stage}"], tables),
            "queues": ([f"mailbridge-{stage}-sync-jobs.fifo", f"mailbridge-{stage}-sync-jobs-dlq.fifo",
                        f"mailbridge-{stage}-calendar-writes", f"mailbridge-{stage}-calendar-writes-dlq"],
                       [q.rsplit("/", 1)[-1] for q in queues]),
            "functions": ([n.format(s=stage) for n in fn_names], functions),
            "log groups": (["/aws/lambda/" + n.format(s=stage) for n in fn_names], list(groups)),
            "state machine": ([f"mailbridge-{stage}-calendar-retry"], machines),
            "alarm topic": ([f"mailbridge-{stage}-alarms"], [t.rsplit(":", 1)[-1] for t in topics]),
        }
        for what, (names, have) in want.items():
            for n in names:
                if n not in have:
                    problems.append(f"stage {stage}: {what} {n} missing")
        days = int(envs[stage][2].get("LogRetentionDays", tpl["Parameters"]["LogRetentionDays"]["Default"]))
        for n in want["log groups"][0]:
            if n in groups and groups[n] != days:
                problems.append(f"stage {stage}: log group {n} keeps logs {groups[n]} days, want LogRetentionDays ({days})")
    # The aliases, through the Lambda API, on the version each stack published.
    lam = client("lambda", endpoint)
    created = 0
    for stage in stages:
        for fn, alias in aliases.items():
            name = sub(res[fn]["Properties"]["FunctionName"]["Fn::Sub"], stage)
            try:
                versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"] if v["Version"] != "$LATEST"]
            except lam.exceptions.ResourceNotFoundException:
                continue  # reported above as a missing function
            if not versions:
                problems.append(f"stage {stage}: function {name} has no published version for alias {alias}")
                continue
            lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=versions[-1])
            created += 1
    # Two keys per stack: the secrets key (SecretsKmsKeyArn empty) and the alarm key.
    if len(keys) < 2 * len(stages):
        problems.append(f"{len(keys)} KMS keys, want {2 * len(stages)}")
    # Schedules: through the Scheduler API, as CloudFormation would create them.
    sched = client("scheduler", endpoint)
    for stage in stages:
        for k, r in res.items():
            if r["Type"] != "AWS::Scheduler::Schedule":
                continue
            p = r["Properties"]
            name = p["Name"]["Fn::Sub"] if isinstance(p["Name"], dict) else p["Name"]
            group = p.get("GroupName", "default")
            try:
                sched.create_schedule(Name=sub(name, stage), GroupName=group if isinstance(group, str) else sub(group["Fn::Sub"], stage),
                                      ScheduleExpression=p["ScheduleExpression"], FlexibleTimeWindow=p["FlexibleTimeWindow"],
                                      Target={"Arn": f"arn:aws:lambda:{REGION}:123456789012:function:x", "RoleArn": "arn:aws:iam::123456789012:role/x"})
            except sched.exceptions.ConflictException:
                problems.append(f"stage {stage}: schedule {k} named {sub(name, stage)!r} collides with another stage's")
    print("rehearsal: stacks", ", ".join(e[0] for e in envs.values()), "(samconfig.toml) created;",
          len(functions), "functions,", created, "aliases,", len(queues), "queues,", len(tables), "tables,", len(machines), "state machines,",
          len(sched.list_schedules()["Schedules"]), "schedules")
    if os.environ.get("MAILBRIDGE_REHEARSAL_OUT"):
        with open(os.environ["MAILBRIDGE_REHEARSAL_OUT"], "w") as f:
            json.dump(stack_report(endpoint, envs, res), f, indent=1)
    return problems


def main():
    # moto warns of each resource type its CloudFormation skips (see above).
    warnings.filterwarnings("ignore", message="Tried to parse")
    logging.getLogger("moto").setLevel(logging.ERROR)
    endpoint = os.environ.get("MAILBRIDGE_MOTO_ENDPOINT", "")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if endpoint:
        problems = rehearse(endpoint)
    else:
        from moto import mock_aws
        with mock_aws():
            problems = rehearse("")
    for p in problems:
        print("rehearsal:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
