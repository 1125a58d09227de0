// Package deploytest checks template.yaml without AWS: the template after
// the SAM transform (infra/deploytest/sam_transform.py, with the translator
// cfn-lint ships) is held against the code that runs under it — each
// function's IAM grants against the AWS operations its code can reach,
// each function's environment against the variables its code reads and the
// parsers that read them, the stage rule against the code's, safe deploys
// (each function's alias, its CodeDeploy group rolling back on the
// alias's error alarm, every event source invoking the alias), X-Ray
// tracing, and the defects fixed once (integration credentials, schedule names, the alarm
// topic's key, the API alarm's dimension, log retention). Tests only; this
// file holds no code. The deploy rehearsal on moto is
// functions/internal/rehearsal (with infra/deploytest/rehearse.py).
package deploytest
