"""What a run prints: the phase clock behind the summary's `time` row."""

import time

import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.report import PhaseClock


class PhaseClockTest(tf.test.TestCase):

    def test_phases_add_up_in_the_order_they_ran(self):
        clock = PhaseClock()
        with clock("data"):
            time.sleep(0.05)
        clock.add("compile", 2.0)
        clock.add("data", 1.0)  # a phase met again adds to its first entry
        self.assertEqual(list(clock.seconds), ["data", "compile"])
        self.assertBetween(clock.seconds["data"], 1.05, 1.5)
        self.assertRegex(clock.line(), r"^data 1\.\d, compile 2\.0 \(3\.\d s\)$")

    def test_start_up_counts_from_the_given_start(self):
        clock = PhaseClock(started=time.perf_counter() - 3.0)
        self.assertEqual(list(clock.seconds), ["start-up"])
        self.assertBetween(clock.seconds["start-up"], 3.0, 3.5)

    def test_a_failing_phase_is_still_counted(self):
        clock = PhaseClock()
        with self.assertRaises(ValueError):
            with clock("export"):
                raise ValueError("disk full")
        self.assertIn("export", clock.seconds)


if __name__ == "__main__":
    tf.test.main()
