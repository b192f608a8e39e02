"""The AWS test double's insides; tests/doubles/aws_double.py runs it.

  server.py    HTTP on loopback; control API routing; fault application
  state.py     fixture, credentials, faults, request log, tokens, config
  sigcheck.py  SigV4 verification with botocore's signer
  calllog.py   the run's call log ($EBSSH_CALL_LOG) and operation names by protocol
  faults.py    fault specs and their per-action queues
  control.py   /__control/ (never signed)
  models.py    botocore service models, the vectors' newer subsets first
  ec2proto.py  the ec2 protocol: form parameters in, XML out, via the model
  fixtures.py  the instance fixture format and its expansion to EC2 items
  ec2.py       EC2's Query API (DescribeInstances; the image and snapshot calls)
  ec2_console.py  GetConsoleOutput and the console control
  images.py    AMIs and snapshots kept across calls, seeds, consistency knobs
  service.py   the Service base class, Response and ServiceError
  cloudwatch.py, logs.py, lambda_.py   CloudWatch (query), CloudWatch Logs
               (JSON 1.1) and Lambda (REST-JSON)

A service is a service.Service: name (its SigV4 signing name), action(req)
(the operation a request names, for fault matching and the log),
handle(req) (answers a request whose signature checked out),
auth_error(verdict), fault(fault) and error(code, message, status), each
returning a service.Response in the service's own error format; a subclass
gives its error document, its fault and credential errors and _handle().
Register it in DoubleServer.services under its signing name.
"""
