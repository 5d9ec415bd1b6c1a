"""DVC stage `params`: validate params.yaml before any other stage runs.

DVC removes a stage's outputs just before running it, so a bad value caught by the stage itself
would already have cost its outputs. Every stage depends on this stage's output, so DVC runs
this first and stops here on a bad value, with every other output untouched. The output's bytes
never change, so a valid edit still reruns only the stages that read the edited params.
"""

from geoloc.entry import stage_command
from geoloc.io import atomic_path
from geoloc.sdm.learners import get_learner

MARKER = "params.yaml is valid (checked by geoloc/params.py before every other stage)\n"


@stage_command()
def main(params, layout):
    """Every section was validated by load_params, and `sdm.learner_options` here by the learner's
    own rules (evaluate would only find a bad one after training): record that, same bytes."""
    get_learner(params.sdm.learner, device="cpu", **params.sdm.learner_options)
    with atomic_path(layout.params_check) as tmp:
        tmp.write_text(MARKER)


if __name__ == "__main__":
    main()
