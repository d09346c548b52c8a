from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('posture', '0006_vulnerabilities'),
    ]

    operations = [
        migrations.AddField(
            model_name='snapshot',
            name='pod_security',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
