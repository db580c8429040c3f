"""class_imbalance_doubts: a rare class's shortfall where every class has few training samples."""

from fixtures.diagnosis import diagnose_dynamics
from fixtures.imbalance_runs import rare_missed_run
from lossgap.diagnosis.causes.class_imbalance_doubts import FEW_PER_CLASS_CAP


def test_rare_classes_among_classes_that_all_have_few_samples_are_as_much_little_data_as_imbalance():
    # Trial 32: 40 training samples for 9 classes, 2 for each of the two rare ones and about 4.5 for the rest, read
    # class imbalance 1.00 with class weights first; the full training set gained 0.16 on test.
    few = diagnose_dynamics(rare_missed_run(train_counts=(8, 1, 1))).verdict("class_imbalance_bias")
    assert few.confidence == FEW_PER_CLASS_CAP and few.evidence["few_of_every_class"] == 8, few.summary
    assert few.remedies[0].name == "more_data" and "a learning curve tells" in few.summary
    # Plenty of the frequent class: the lean stands as before.
    plenty = diagnose_dynamics(rare_missed_run()).verdict("class_imbalance_bias")
    assert plenty.confidence > FEW_PER_CLASS_CAP and "few_of_every_class" not in plenty.evidence, plenty.summary
