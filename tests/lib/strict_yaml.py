"""The one way the tests read YAML: PyYAML's safe loader, except that a
mapping with the same key twice is an error instead of the last value
silently winning (YAML 1.2 requires unique keys; PyYAML keeps the last, and
CloudFormation refuses the template: deploy/template.yaml once lost its
first `Conditions:` that way). cfn=True also reads CloudFormation's short
tags (!Ref, !Sub, !GetAtt, ...) as their long form ({"Ref": ...},
{"Fn::Sub": ...}, {"Fn::GetAtt": [resource, attribute]}).

    import strict_yaml
    doc = strict_yaml.load_file(path)              # plain YAML (OpenAPI)
    tpl = strict_yaml.load_file(path, cfn=True)    # a CloudFormation template
    strict_yaml.load(text)                         # from a string or stream

A duplicate raises DuplicateKeyError (a yaml.YAMLError) naming the key and
both lines. Merge keys (<<) keep YAML's meaning: the mapping's own keys win
over merged ones, which is no duplicate.
"""

import yaml
from yaml.constructor import ConstructorError


class DuplicateKeyError(ConstructorError):
    """A mapping names one key twice."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate mapping keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: SafeLoader says so below
                    continue
                if first is not None:
                    raise DuplicateKeyError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found duplicate key %r (first on line %d)" % (key, first.start_mark.line + 1),
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class CfnLoader(StrictLoader):
    """StrictLoader that also reads CloudFormation's short-form intrinsics."""


# Short tag -> long key. !GetAtt "A.B" is ["A", "B"]; the rest keep their node.
CFN_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "GetAZs": "Fn::GetAZs",
    "Transform": "Fn::Transform",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
}


def _short_tag(key):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag, _key in CFN_TAGS.items():
    CfnLoader.add_constructor("!" + _tag, _short_tag(_key))


def load(stream, cfn=False):
    """The one document of stream (a string, bytes or file)."""
    return yaml.load(stream, Loader=CfnLoader if cfn else StrictLoader)


def load_file(path, cfn=False):
    with open(path, encoding="utf-8") as f:
        return load(f, cfn=cfn)


if __name__ == "__main__":
    raise SystemExit("strict_yaml.py is a library")
