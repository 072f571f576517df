from django.db import migrations, models


class Migration(migrations.Migration):
    """Expand: a nullable column, so the previous release (which does not
    know it) keeps inserting rows while both colours run."""

    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="taskrun",
            name="note",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
    ]
